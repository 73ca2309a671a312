// What the HTTP routes are built on: one object, created at start, handed to each router.
import type { Logger } from 'pino';
import type { Catalog } from './catalog/catalog.js';
import type { Config } from './config.js';

export interface Services {
  config: Config;
  log: Logger;
  catalog: Catalog;
}
