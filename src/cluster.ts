// The `cluster` option: N Meridian processes on one machine sharing one port (node:cluster hands
// connections to them in turn). The primary only forks, replaces a process that dies, and passes
// SIGTERM/SIGINT on (as SIGTERM) so each finishes its requests. The processes share state the way separate
// instances do: MERIDIAN_DATABASE_URL (required) and, optionally, MERIDIAN_REDIS_URL.
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { ConfigError, type Config } from './config.js';

export function checkClusterConfig(config: Config): void {
  // Each process remembers permission decisions; only the shared database tells the others of changes.
  if (config.cluster > 1 && !config.connections.default) {
    throw new ConfigError('cluster needs MERIDIAN_DATABASE_URL: its processes share users, sessions and ACLs through PostgreSQL');
  }
}

/** In the primary: forks `config.cluster` processes and keeps that many running until told to stop. */
export function runPrimary(config: Config, log: Logger): void {
  let stopping = false;
  /** Worker id → whether it got as far as listening. */
  const running = new Map<number, boolean>();
  const fork = () => running.set(cluster.fork().id, false);
  cluster.on('listening', (worker) => running.set(worker.id, true));
  cluster.on('exit', (worker, code, signal) => {
    const served = running.get(worker.id);
    running.delete(worker.id);
    if (stopping) {
      if (running.size === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    log.warn({ process: worker.process.pid, code, signal }, 'cluster process exited');
    // One that dies before listening fails at start (bad catalog, port taken): forking again would loop.
    if (!served) {
      log.error('cluster process failed at start; stopping the cluster');
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (running.size === 0) process.exit(1);
      return;
    }
    fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    log.info({ signal, processes: running.size }, 'cluster shutting down');
    // SIGTERM whatever came: after a Ctrl-C the processes have had their SIGINT from the terminal.
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  log.info({ processes: config.cluster, port: config.port }, 'cluster starting');
  for (let i = 0; i < config.cluster; i++) fork();
}
