// PostgreSQL connection pools, one per named connection, shared by every layer that names it.
// The default connection is MERIDIAN_DATABASE_URL; others come from the config's "connections";
// QGIS projects name theirs in their layers' datasources (projectPool).
import pg from 'pg';
import type { Logger } from 'pino';
import { ApiError } from '../../http/errors.js';
import { cancelRunning } from './cancel-request.js';

export const DEFAULT_CONNECTION = 'default';

/**
 * Doubles written in their shortest exact digits (PostgreSQL 12's default, which a database or role
 * may change): values are read from that text, and a whole-layer `like=` searches it, so with fewer
 * digits 0.30000000000000004 would read as 0.3 and not be found by its last ones.
 */
const EXACT_FLOATS = 'SET extra_float_digits = 1';

export interface PoolLimits {
  /** Most connections per pool (MERIDIAN_DATABASE_POOL_SIZE). */
  max: number;
  /** Waiting longer than this for a connection fails the request with a 503. */
  connectTimeoutMs: number;
  /**
   * PostgreSQL stops a statement that runs longer (its statement_timeout; 0 leaves the database's
   * own setting), so a slow query does not hold its connection for as long as it runs.
   */
  statementTimeoutMs: number;
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
        ...config, max: this.limits.max, statement_timeout: this.limits.statementTimeoutMs,
        connectionTimeoutMillis: this.limits.connectTimeoutMs, idleTimeoutMillis: 30_000,
      });
      // An idle client whose server went away emits 'error' on the pool; unhandled it would crash
      // the process. The pool drops that client and opens a new one on the next query.
      pool.on('error', (err) => this.log.warn({ connection: label, err: err.message }, 'database connection lost'));
      // Run before any query of the new session (a client runs its queries in turn).
      pool.on('connect', (client) => {
        client.query(EXACT_FLOATS).catch((err: Error) => this.log.warn({ connection: label, err: err.message }, 'session setting refused'));
      });
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

/** PostgreSQL's SQLSTATE for a statement cancelled (by a cancel request, or statement_timeout). */
const QUERY_CANCELED = '57014';

// SQLSTATE classes meaning the server is not there or not accepting work: 08 connection
// exception, 53 insufficient resources, 57 operator intervention (shutdown), but for 57014
// query_canceled: a statement stopped, on a connection that is fine.
const UNAVAILABLE_CLASSES = ['08', '53', '57'];

const codeOf = (err: unknown) => (err as { code?: unknown })?.code;

/** Whether `err` says the database cannot be reached (so the answer is a 503, and a retry may work). */
export function isUnavailable(err: unknown): boolean {
  const code = codeOf(err);
  if (typeof code === 'string' && code !== QUERY_CANCELED) {
    if (/^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, ENOTFOUND…
    if (UNAVAILABLE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  const message = (err as { message?: unknown })?.message;
  return typeof message === 'string' && /timeout exceeded when trying to connect|Connection terminated|pool after calling end/.test(message);
}

/**
 * What to throw for `err`, a database call's failure for `what`: a 503 for a database that cannot
 * be reached, a 503 QUERY_TIMEOUT for a statement PostgreSQL stopped (its statement_timeout,
 * `timeoutMs` when Meridian set it; `advice` follows), else `err`.
 */
function databaseFailure(what: string, err: unknown, timeoutMs?: number, advice = ''): unknown {
  if (codeOf(err) === QUERY_CANCELED) return statementStopped(what, err, timeoutMs, advice);
  // A query of the caller's may have made it a 503 already.
  if (isUnavailable(err)) return err instanceof ApiError ? err : databaseUnavailable(what, err);
  return err;
}

/** The statement_timeout Meridian set on `db`'s connections, if it set one. */
const statementBound = (db: pg.Pool): number | undefined => db.options.statement_timeout || undefined;

/**
 * Runs a database call; a database that cannot be reached becomes a 503 the client can retry, a
 * statement stopped a QUERY_TIMEOUT (naming the bound of `db`, the pool the call runs on).
 */
export async function guarded<T>(what: string, call: () => Promise<T>, db?: pg.Pool): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw databaseFailure(what, err, db && statementBound(db));
  }
}

/**
 * One connection of a pool, taken for one request's queries. While it is out of the pool nothing
 * else listens to it, and a server lost mid-query is emitted as 'error' on it besides failing the
 * query: unheard, that would crash the process; such a broken connection is discarded rather than
 * put back. With a `signal` (its client gone, see http/client-gone.ts), what runs on it is cancelled
 * on the server, so that PostgreSQL does not go on with an answer nobody will read.
 */
export class Lease {
  /** Why the connection is not to be put back, if it is not. */
  private damage: Error | undefined;
  /** The cancel request sent when the signal aborted: whether the server took it. */
  private cancelled: Promise<boolean> | undefined;
  private readonly cancel = () => { this.cancelled = cancelRunning(this.client); };

  /** The connection is not to be used again: it is closed rather than put back. */
  readonly discard = (why: Error) => { this.damage ??= why; };

  private constructor(readonly client: pg.PoolClient, private readonly what: string, private readonly signal: AbortSignal | undefined,
    /** The pool's statement_timeout, named in the error of a statement it stops. */
    private readonly timeoutMs: number | undefined) {
    client.on('error', this.discard);
    signal?.addEventListener('abort', this.cancel, { once: true });
  }

  /**
   * A connection of `db`, for `what` (named in errors); none is taken once `signal` has aborted: its
   * reason is thrown, also at once to a caller still waiting for a connection (see `connectUnlessLeft`).
   */
  static async take(db: pg.Pool, what: string, signal?: AbortSignal): Promise<Lease> {
    signal?.throwIfAborted();
    const client = await guarded(what, () => connectUnlessLeft(db, signal)).catch((err: unknown) => { throw signal?.aborted ? signal.reason : err; });
    // Aborted between the connection's coming and now.
    if (signal?.aborted) {
      client.release();
      throw signal.reason;
    }
    return new Lease(client, what, signal, statementBound(db));
  }

  /**
   * What to throw for `err`, a query's failure on this connection: the signal's reason for the
   * cancel it caused, a QUERY_TIMEOUT for a statement the pool's statement_timeout stopped (57014
   * query_canceled either way: the connection is fine), a 503 for a database that cannot be
   * reached (the connection is then discarded), else `err`.
   */
  failure(err: unknown): unknown {
    if (this.signal?.aborted && codeOf(err) === QUERY_CANCELED) return this.signal.reason;
    if (isUnavailable(err)) this.discard(err as Error);
    return databaseFailure(this.what, err, this.timeoutMs, ASK_FOR_LESS);
  }

  /**
   * Puts the connection back, only once a cancel sent has reached the server: arriving later, it
   * would stop whichever query the pool's next borrower runs. One whose cancel is not known to
   * have arrived is discarded instead. `reset`, a statement that brings the session back to idle
   * (a ROLLBACK), runs first, after that cancel: else the cancel could stop it.
   */
  async release(reset?: string): Promise<void> {
    this.signal?.removeEventListener('abort', this.cancel);
    if (this.cancelled && !(await this.cancelled)) this.discard(new Error('the cancel request got no answer'));
    if (reset && !this.broken) await this.client.query(reset).catch(this.discard);
    this.client.off('error', this.discard);
    this.client.release(this.damage);
  }

  /** Whether the connection is lost, or not to be used again. */
  get broken(): boolean {
    return this.damage !== undefined;
  }
}

/**
 * A connection of `db`, or, once `signal` aborts, its reason at once. pg cannot take a waiter out of
 * its queue: the connection that waiter is given later goes straight back, unused (so none leaks).
 */
function connectUnlessLeft(db: pg.Pool, signal: AbortSignal | undefined): Promise<pg.PoolClient> {
  if (!signal) return db.connect();
  return new Promise((resolve, reject) => {
    let waiting = true;
    const leave = () => { waiting = false; reject(signal.reason); };
    signal.addEventListener('abort', leave, { once: true });
    db.connect().then((client) => {
      signal.removeEventListener('abort', leave);
      if (waiting) resolve(client);
      else client.release();
    }, (err: unknown) => {
      signal.removeEventListener('abort', leave);
      reject(err);
    });
  });
}

/** Runs `work` on a connection of `db` of its own, cancelled on the server when `signal` aborts (see Lease). */
export async function leased<T>(db: pg.Pool, what: string, signal: AbortSignal | undefined, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const lease = await Lease.take(db, what, signal);
  try {
    return await work(lease.client);
  } catch (err) {
    throw lease.failure(err);
  } finally {
    await lease.release();
  }
}

/** Runs `work` on one connection of `db` inside BEGIN … COMMIT (ROLLBACK when it throws). */
export function inTransaction<T>(db: pg.Pool, what: string, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  return leased(db, what, undefined, async (tx) => {
    await tx.query('BEGIN');
    try {
      const result = await work(tx);
      await tx.query('COMMIT');
      return result;
    } catch (e) {
      await tx.query('ROLLBACK').catch(() => {});
      throw e;
    }
  });
}

export function databaseUnavailable(what: string, err: unknown): ApiError {
  return new ApiError(503, 'DATABASE_UNAVAILABLE', `The database of ${what} cannot be reached (${(err as Error).message}).`,
    undefined, { 'Retry-After': '5' });
}

/**
 * A statement PostgreSQL stopped, not for a client gone: by its statement_timeout (or by an
 * administrator's pg_cancel_backend, which reads the same). A 503, as the database did not answer,
 * but no Retry-After: the same request would run as long again. `timeoutMs` is the bound Meridian
 * set, if it did.
 */
function statementStopped(what: string, err: unknown, timeoutMs: number | undefined, advice: string): ApiError {
  const bound = timeoutMs ? `: each statement may run for ${timeoutMs} ms (MERIDIAN_DATABASE_STATEMENT_TIMEOUT_MS)${advice}` : '';
  return new ApiError(503, 'QUERY_TIMEOUT', `A statement on the database of ${what} was stopped (${(err as Error).message})${bound}.`, 'Query timeout');
}

/** What a request whose statement ran past the bound can do about it. */
const ASK_FOR_LESS = '. Ask for less: a smaller area, a limit, a filter an index serves';
