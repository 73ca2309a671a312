// What the HTTP routes are built on: one object, created at start, handed to each router.
import type { Logger } from 'pino';
import type { AuthServices } from './auth/setup.js';
import type { Catalog } from './catalog/catalog.js';
import type { Config } from './config.js';
import type { Farm } from './farm/farm.js';
import type { Authorize } from './http/resources.js';
import type { Plugins } from './plugins/registry.js';
import type { ProjectCache } from './qgis/project-cache.js';
import type { ProjectWorkers } from './qgis/workers.js';
import type { Monitor } from './monitor/monitor.js';
import type { WorkerPool } from './pool/pool.js';
import type { Renderer } from './render/renderer.js';
import type { TileCache } from './tiles/cache.js';
import type { TileStore } from './tiles/store.js';
import type { MvtTiles } from './tiling/mvt-tiles.js';

export interface Services {
  config: Config;
  log: Logger;
  catalog: Catalog;
  /** Permission check used by every resource endpoint (see http/resources.ts). */
  authorize: Authorize;
  /** QGIS projects cached in this thread (src/qgis/). */
  projects: ProjectCache;
  /** The pool workers' copies of the project cache, kept in step with `projects`. */
  projectWorkers: ProjectWorkers;
  /** Server plugins loaded at start (src/plugins/). */
  plugins: Plugins;
  /** Counters and statistics sources for the monitoring API; tile caches and the pool register here. */
  monitor: Monitor;
  /** Worker threads for CPU-heavy work (tiles, rendering); see pool/pool.ts. */
  pool: WorkerPool;
  /** Served tiles of every format, bounded in bytes; see tiles/cache.ts. */
  tileCache: TileCache;
  /** Makes MVT tiles of feature layers (tiling/). */
  mvtTiles: MvtTiles;
  /** Draws styled layers into PNG images and tiles (render/). */
  renderer: Renderer;
  /** Tiles on disk behind the memory cache, durable and bounded; see tiles/store.ts. */
  tileStore: TileStore;
  /** Users, groups, sessions and ACLs (src/auth/); the caller is ctx.state.user (http/auth.ts). */
  auth: AuthServices;
  /** Seeding jobs, tasks and workers (src/farm/). */
  farm: Farm;
}
