// PostgreSQL in tests: the server scripts/pg-test-server.sh starts (MERIDIAN_TEST_PG_URL), a schema
// per test file for Meridian's shared state, and a relay the test can cut to stand for a database
// that goes away (the cluster itself is shared with other test runs, so it is never stopped).
import { createServer, Socket, type Server } from 'node:net';

export const PG_URL = process.env.MERIDIAN_TEST_PG_URL;
export const PG_SKIP = PG_URL ? false : 'MERIDIAN_TEST_PG_URL is not set: run scripts/pg-test-server.sh to test against PostgreSQL';

/** `url` whose connections create and find unqualified tables in `schema` first (PostGIS stays reachable in public). */
export function inSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema},public`);
  return u.href;
}

/** `url` with its port replaced (to go through a Relay). */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.href;
}

/** A TCP relay to the database that the test can cut and restore, standing for a database that goes away. */
export class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: URL) {}
  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = new Socket().connect(Number(this.target.port || 5432), this.target.hostname);
      for (const s of [client, upstream]) { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); s.on('error', () => s.destroy()); }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }
  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server!.close(resolve));
  }
}

