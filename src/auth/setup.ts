// Everything auth needs at run time, built at start: the database (SQLite, or PostgreSQL shared by
// every instance when MERIDIAN_DATABASE_URL is set), the built-in principals, the ACL policy and
// the authenticator.
import type Database from 'better-sqlite3';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { Config } from '../config.js';
import { DEFAULT_CONNECTION } from '../store/postgis/connections.js';
import { Authenticator } from './authenticator.js';
import { bootstrap } from './bootstrap.js';
import { openDatabase } from './database.js';
import { AccessPolicy } from './policy.js';
import { migrate, withSchemaLock } from './pg-database.js';
import { PgAuthStore } from './pg-store.js';
import { SqliteAuthStore } from './sqlite-store.js';
import type { AuthStore } from './store.js';

export interface AuthServices {
  store: AuthStore;
  policy: AccessPolicy;
  authenticator: Authenticator;
  /** The database itself, for other areas' tables (farm jobs); closed with `store`. */
  database: { engine: 'sqlite'; db: Database.Database } | { engine: 'postgresql'; pool: pg.Pool; url: string };
}

export async function setUpAuth(config: Config, catalog: Catalog, log: Logger): Promise<AuthServices> {
  const sharedUrl = config.connections[DEFAULT_CONNECTION];
  const shared = sharedUrl ? new pg.Pool({ connectionString: sharedUrl, max: config.databasePoolSize, connectionTimeoutMillis: config.databaseTimeoutMs }) : null;
  // An idle connection whose server went away must not crash the process; the next query reconnects.
  shared?.on('error', (err) => log.warn({ err: err.message }, 'auth database connection lost'));
  const sqlite = shared ? null : openDatabase(config.database, log);
  const store = shared ? new PgAuthStore(shared, sharedUrl!, log) : new SqliteAuthStore(sqlite!);
  const database: AuthServices['database'] = shared ? { engine: 'postgresql', pool: shared, url: sharedUrl! } : { engine: 'sqlite', db: sqlite! };
  try {
    const setUp = () => bootstrap(store, {
      adminPassword: config.adminPassword, passwordCost: config.passwordCost, registrationGroup: config.registrationGroup ?? undefined,
    }, log);
    const system = shared ? await withSchemaLock(shared, async () => { await migrate(shared, log); return setUp(); }) : await setUp();
    const services = {
      store, database,
      policy: await AccessPolicy.create(catalog, store, system),
      authenticator: new Authenticator(store, system, config.sessionTtl * 1000, log, config.passwordCost),
    };
    if (store instanceof PgAuthStore) {
      // Another instance changed users, groups or ACLs: drop what this one remembers of them.
      await store.watch(() => {
        services.authenticator.forget();
        services.policy.reload().catch((err) => log.warn({ err: err.message }, 'could not re-read ACLs after a change'));
      });
    }
    return services;
  } catch (e) {
    await store.close();
    throw e;
  }
}
