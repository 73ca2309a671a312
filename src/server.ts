// Starting and stopping Meridian: services, the HTTP server, graceful shutdown.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createRequestListener } from './app.js';
import { setUpAuth, type AuthServices } from './auth/setup.js';
import { Catalog } from './catalog/catalog.js';
import { watchFileLayers } from './catalog/source-watch.js';
import type { Config } from './config.js';
import { authorizeBy } from './http/auth.js';
import { createApiServer } from './http/client-error.js';
import { Farm } from './farm/farm.js';
import type { JobStore } from './farm/job-store.js';
import { PgJobStore } from './farm/pg-job-store.js';
import { storedSettings } from './farm/settings.js';
import { SqliteJobStore } from './farm/sqlite-job-store.js';
import { createLogger } from './log.js';
import { startManagementServer } from './management/server.js';
import { Plugins } from './plugins/registry.js';
import { ProjectCache } from './qgis/project-cache.js';
import { ProjectWorkers } from './qgis/workers.js';
import { DatabaseConnections } from './store/postgis/connections.js';
import { Monitor } from './monitor/monitor.js';
import { poolSource, tileCacheSource, tileStoreSource } from './monitor/tile-sources.js';
import { WorkerPool } from './pool/pool.js';
import type { Services } from './services.js';
import { TileCache } from './tiles/cache.js';
import { sharedTileCache } from './tiles/redis-cache.js';
import { TileStore } from './tiles/store.js';
import { MvtTiles } from './tiling/mvt-tiles.js';
import { Renderer } from './render/renderer.js';
import { watchLayerSources } from './tiles/source-stamps.js';
import { watchProjectSources } from './tiles/project-stamps.js';
import { forgetReplacedLayers } from './qgis/project-resource.js';
import { searchLayerKey } from './identify/offload.js';

export interface Running {
  services: Services;
  server: Server;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** The management port's base URL, when it is enabled. */
  managementUrl?: string;
  /** Resolves when every layer has loaded or failed. */
  layersLoaded: Promise<void>;
  /** Stops accepting connections and resolves once in-flight requests have finished. */
  close(): Promise<void>;
}

export async function start(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Running> {
  const catalog = Catalog.read(config.dataDir, config.stylesDir);
  const pool = new WorkerPool({
    size: config.workers, taskTimeoutMs: config.taskTimeoutMs, memoryHighWaterMark: config.poolMemoryHighWaterMark, log,
    // The tile cache's shared tiles are in use; the rest may be garbage (see pool/shared-results.ts).
    sharedInUse: () => tileCache.sharedBytes,
  });
  const sharedTiles = sharedTileCache(config, catalog, log, () => tileCache);
  const tileCache: TileCache = new TileCache(config.tileCacheBytes, sharedTiles);
  catalog.onLayerChange((id) => tileCache.invalidateLayer(id));
  const auth = await setUpAuth(config, catalog, log);
  const jobs = jobStoreOf(auth.database, log);
  // Its POSTed bound, if any: opened with the configured one, a store above that would be cut down first.
  const tileStore = await TileStore.open(config.tileStore, (await storedSettings(config, jobs)).tile_store_max_bytes);
  watchLayerSources(catalog, tileStore, log);
  const monitor = new Monitor(config.monitorPath);
  monitor.addCache('tiles', tileCacheSource(tileCache, monitor.tileBytes));
  monitor.addCache('tile-store', tileStoreSource(tileStore));
  monitor.setPool(poolSource(pool));
  const databases = new DatabaseConnections(config.connections,
    { max: config.databasePoolSize, connectTimeoutMs: config.databaseTimeoutMs, statementTimeoutMs: config.databaseStatementTimeoutMs }, log);
  const projects = new ProjectCache({ root: config.projectsDir, size: config.projectCacheSize, checkInterval: config.projectCheckInterval, log, databases });
  watchProjectSources(catalog, projects, tileCache, tileStore, log);
  const plugins = await Plugins.load(config.pluginsDir, log, pool);
  const base: Omit<Services, 'farm'> = { config, log, catalog, authorize: authorizeBy(auth.policy), auth, pool, tileCache, tileStore, projects, plugins,
    mvtTiles: new MvtTiles(pool, log, catalog), renderer: new Renderer(pool, config, log, catalog),
    projectWorkers: new ProjectWorkers(pool, projects, config.logLevel), monitor };
  const services: Services = { ...base, farm: await Farm.open(base, jobs) };
  forgetReplacedLayers(projects, (ref) => { services.mvtTiles.forget(ref); services.renderer.forget(ref); pool.forgetLayer(searchLayerKey(ref)); });
  // Big identify searches leave a layer's geometry with the workers: a reloaded layer's goes too.
  catalog.onLayerChange((id) => pool.forgetLayer(searchLayerKey(id)));
  await preloadProjects(projects, config.preloadProjects, log);
  const layersLoaded = catalog.loadLayers(log, databases);
  const sourceWatch = watchFileLayers(catalog, config.sourceCheckInterval * 1000, log);
  // Seeding starts once every layer is ready, so resumed tasks find their data.
  layersLoaded.then(() => services.farm.seeder.start()).catch((err) => log.error({ err }, 'seeding could not start'));
  const server = createApiServer(createRequestListener(services), log);
  if (config.monitor) services.monitor.connections.watch(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  // A URL this machine can open; `bound` says which addresses answer (every one for 0.0.0.0 or ::).
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, bound: config.host, data: config.dataDir, styles: config.stylesDir }, 'listening');
  const management = config.managementPort === null ? undefined : await startManagementServer(services, config.managementPort, config.managementHost);
  let closing: Promise<void> | undefined;
  return {
    services, server, url, layersLoaded, managementUrl: management?.url,
    close() {
      // No reload starts or lands while in-flight requests finish.
      sourceWatch.stop();
      closing ??= Promise.all([server, management?.server].map((s) => s && new Promise<void>((resolve) => {
        s.close(() => resolve());
        // Keep-alive sockets with no request in flight would hold close() open.
        s.closeIdleConnections();
      }))).then(() => services.farm.close()).then(() => tileStore.flush()).then(() => sharedTiles?.close()).then(() => auth.store.close())
        .then(() => databases.close()).then(() => pool.close());
      return closing;
    },
  };
}

/** Seeding jobs live beside users: in the embedded SQLite, or in PostgreSQL, one queue for every instance. */
function jobStoreOf(database: AuthServices['database'], log: Logger): JobStore {
  return database.engine === 'postgresql' ? new PgJobStore(database.pool, database.url, log) : new SqliteJobStore(database.db);
}

/** Preloaded projects are pinned; one that cannot be loaded is logged and start-up goes on. */
async function preloadProjects(projects: ProjectCache, uris: string[], log: Logger): Promise<void> {
  for (const uri of uris) {
    try { await projects.refresh(uri, true); } catch (e) { log.error({ project: uri, error: (e as Error).message }, 'project preload failed'); }
  }
}
