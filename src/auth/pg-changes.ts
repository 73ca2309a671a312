// Hearing about changes made by other instances (auth data, pg-store.ts; the farm settings,
// farm/pg-job-store.ts): LISTEN on a channel of the shared database, one dedicated connection.
// When that connection is lost, notifications sent meanwhile are lost too, so after reconnecting
// the listener is told "something changed" once to re-read everything.
import pg from 'pg';
import type { Logger } from 'pino';

const RECONNECT_MS = 1000;

export class ChangeListener {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly url: string, private readonly channel: string, private readonly log: Logger, private readonly onChange: () => void) {}

  /** Resolves once listening (or after the first failure, retrying in the background). */
  async start(): Promise<void> {
    await this.connect(false);
  }

  private async connect(missedSome: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', () => this.onChange());
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
      if (this.closed) { await client.end(); return; }
      this.client = client;
      if (missedSome) {
        this.log.info({ channel: this.channel }, 'listening for changes again');
        this.onChange();
      }
    } catch (err) {
      this.lost(client, err as Error);
    }
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.closed || this.timer || (this.client && this.client !== client)) return;
    this.client = null;
    client.end().catch(() => {});
    this.log.warn({ channel: this.channel, err: err?.message }, 'change notifications interrupted; reconnecting');
    this.timer = setTimeout(() => { this.timer = null; void this.connect(true); }, RECONNECT_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.client?.end().catch(() => {});
  }
}
