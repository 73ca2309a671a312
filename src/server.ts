// Starting and stopping Meridian: services, the HTTP server, graceful shutdown.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import { setUpAuth } from './auth/setup.js';
import { Catalog } from './catalog/catalog.js';
import type { Config } from './config.js';
import { authorizeBy } from './http/auth.js';
import { createLogger } from './log.js';
import { WorkerPool } from './pool/pool.js';
import type { Services } from './services.js';
import { TileCache } from './tiles/cache.js';

export interface Running {
  services: Services;
  server: Server;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Resolves when every layer has loaded or failed. */
  layersLoaded: Promise<void>;
  /** Stops accepting connections and resolves once in-flight requests have finished. */
  close(): Promise<void>;
}

export async function start(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Running> {
  const catalog = Catalog.read(config.dataDir, config.stylesDir);
  const pool = new WorkerPool({ size: config.workers, taskTimeoutMs: config.taskTimeoutMs, log });
  const tileCache = new TileCache(config.tileCacheBytes);
  catalog.onLayerChange((id) => tileCache.invalidateLayer(id));
  const auth = await setUpAuth(config, catalog, log);
  const services: Services = { config, log, catalog, authorize: authorizeBy(auth.policy), auth, pool, tileCache };
  const layersLoaded = catalog.loadLayers(log);
  const app = createApp(services);
  const server = createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log.info({ url, data: config.dataDir, styles: config.stylesDir }, 'listening');
  let closing: Promise<void> | undefined;
  return {
    services, server, url, layersLoaded,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => { auth.store.close().then(resolve); });
        // Keep-alive sockets with no request in flight would hold close() open.
        server.closeIdleConnections();
      }).then(() => pool.close());
      return closing;
    },
  };
}
