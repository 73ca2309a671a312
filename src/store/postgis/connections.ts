// PostgreSQL connection pools, one per named connection, shared by every layer that names it.
// The default connection is MERIDIAN_DATABASE_URL; others come from the config's "connections";
// QGIS projects name theirs in their layers' datasources (projectPool).
import pg from 'pg';
import type { Logger } from 'pino';
import { ApiError } from '../../http/errors.js';

export const DEFAULT_CONNECTION = 'default';

export interface PoolLimits {
  /** Most connections per pool (MERIDIAN_DATABASE_POOL_SIZE). */
  max: number;
  /** Waiting longer than this for a connection fails the request with a 503. */
  connectTimeoutMs: number;
}

export class DatabaseConnections {
  private readonly pools = new Map<string, pg.Pool>();
  closed = false;

  constructor(
    /** Connection name → postgres:// URL. */
    private readonly urls: Record<string, string>,
    private readonly limits: PoolLimits,
    private readonly log: Logger,
  ) {}

  has(name: string): boolean {
    return name in this.urls;
  }

  pool(name: string): pg.Pool {
    const url = this.urls[name];
    if (!url) throw new ApiError(503, 'DATABASE_UNAVAILABLE', `Database connection "${name}" is not configured.`);
    return this.open(name, name, { connectionString: url });
  }

  /**
   * The pool of a connection a QGIS project names (host, port, database, user, password, TLS): one per
   * distinct connection, shared by every project and project version that names it. Its sessions are
   * read-only (default_transaction_read_only), so SQL from a project (its layers' subset filters) cannot write.
   */
  projectPool(connection: pg.ClientConfig): pg.Pool {
    const { host, port, database, user, password, ssl } = connection;
    const key = `qgis:${JSON.stringify([host, port, database, user, password, ssl])}`;
    const label = `${user ?? '(PGUSER)'}@${host ?? '(PGHOST)'}:${port ?? 5432}/${database ?? '(PGDATABASE)'}`;
    return this.open(key, label, { host, port, database, user, password, ssl, options: '-c default_transaction_read_only=on' });
  }

  private open(key: string, label: string, config: pg.PoolConfig): pg.Pool {
    if (this.closed) throw new ApiError(503, 'DATABASE_UNAVAILABLE', 'The server is shutting down.');
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new pg.Pool({
        ...config, max: this.limits.max,
        connectionTimeoutMillis: this.limits.connectTimeoutMs, idleTimeoutMillis: 30_000,
      });
      // An idle client whose server went away emits 'error' on the pool; unhandled it would crash
      // the process. The pool drops that client and opens a new one on the next query.
      pool.on('error', (err) => this.log.warn({ connection: label, err: err.message }, 'database connection lost'));
      this.pools.set(key, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pools.values()].map((p) => p.end()));
    this.pools.clear();
  }
}

// SQLSTATE classes meaning the server is not there or not accepting work: 08 connection
// exception, 53 insufficient resources, 57 operator intervention (shutdown, cancel).
const UNAVAILABLE_CLASSES = ['08', '53', '57'];

/** Whether `err` says the database cannot be reached (so the answer is a 503, and a retry may work). */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string') {
    if (/^E[A-Z]+$/.test(e.code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENOTFOUND…
    if (UNAVAILABLE_CLASSES.includes(e.code.slice(0, 2))) return true;
  }
  return typeof e?.message === 'string' && /timeout exceeded when trying to connect|Connection terminated|pool after calling end/.test(e.message);
}

/** Runs a database call; a database that cannot be reached becomes a 503 the client can retry. */
export async function guarded<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isUnavailable(err)) throw databaseUnavailable(what, err);
    throw err;
  }
}

/**
 * Runs `work` on one connection of `db` inside BEGIN … COMMIT (ROLLBACK when it throws). While the
 * connection is out of the pool nothing else listens to it, and a server lost mid-transaction is
 * emitted as 'error' on it besides failing the query: unheard, that would crash the process. A
 * broken connection is discarded rather than put back.
 */
export async function inTransaction<T>(db: pg.Pool, what: string, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await guarded(what, () => db.connect());
  let broken: Error | undefined;
  const lost = (err: Error) => { broken ??= err; };
  client.on('error', lost);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    if (!isUnavailable(e)) throw e;
    broken ??= e as Error;
    // A query of `work` may have made it a 503 already.
    throw e instanceof ApiError ? e : databaseUnavailable(what, e);
  } finally {
    client.off('error', lost);
    client.release(broken);
  }
}

export function databaseUnavailable(what: string, err: unknown): ApiError {
  return new ApiError(503, 'DATABASE_UNAVAILABLE', `The database of ${what} cannot be reached (${(err as Error).message}).`,
    undefined, { 'Retry-After': '5' });
}
