// `npm start`: read settings, start the server (or a cluster of them), stop gracefully on SIGTERM/SIGINT.
import cluster from 'node:cluster';
import { CatalogError } from './catalog/catalog.js';
import { checkClusterConfig, runPrimary } from './cluster.js';
import { ConfigError, readConfig } from './config.js';
import { createLogger } from './log.js';
import { start } from './server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = readConfig();
    checkClusterConfig(config);
  } catch (e) {
    if (e instanceof ConfigError) { console.error(`meridian: ${e.message}`); process.exit(2); }
    throw e;
  }
  const log = createLogger(config.logLevel);
  if (config.cluster > 1 && cluster.isPrimary) return runPrimary(config, log);
  let running;
  try {
    running = await start(config, log);
  } catch (e) {
    if (e instanceof CatalogError) { console.error(`meridian: catalog error: ${e.message}`); process.exit(1); }
    // The error names the port that is taken: the public one or the management one.
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      const taken = (e as { port?: number }).port ?? config.port;
      const setting = taken === config.managementPort ? 'the management port: MERIDIAN_MANAGEMENT_PORT (a port, or off)' : 'PORT or --port';
      console.error(`meridian: port ${taken} is already in use; choose another with ${setting}`);
      process.exit(1);
    }
    throw e;
  }
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    running.close().then(() => { log.info('stopped'); process.exit(0); });
    setTimeout(() => { log.warn('in-flight requests did not finish in 10 s; exiting'); process.exit(1); }, 10_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main();
