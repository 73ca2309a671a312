// Everything auth needs at run time, built at start: the database, the built-in principals, the
// ACL policy and the authenticator.
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { Config } from '../config.js';
import { Authenticator } from './authenticator.js';
import { bootstrap } from './bootstrap.js';
import { openDatabase } from './database.js';
import { AccessPolicy } from './policy.js';
import { SqliteAuthStore } from './sqlite-store.js';
import type { AuthStore } from './store.js';

export interface AuthServices {
  store: AuthStore;
  policy: AccessPolicy;
  authenticator: Authenticator;
  /** The embedded database itself, for other areas' tables (farm jobs); closed with `store`. */
  database: Database.Database;
}

export async function setUpAuth(config: Config, catalog: Catalog, log: Logger): Promise<AuthServices> {
  const database = openDatabase(config.database, log);
  const store = new SqliteAuthStore(database);
  try {
    const system = await bootstrap(store, {
      adminPassword: config.adminPassword, passwordCost: config.passwordCost, registrationGroup: config.registrationGroup ?? undefined,
    }, log);
    return {
      store, database,
      policy: await AccessPolicy.create(catalog, store, system),
      authenticator: new Authenticator(store, system, config.sessionTtl * 1000, log),
    };
  } catch (e) {
    await store.close();
    throw e;
  }
}
