// Runs inside each pool worker: the worker's own project cache, kept identical to the main thread's
// (same projects, same versions) from the cache state shipped with every QGIS task.
import { readlinkSync } from 'node:fs';
import { ApiError } from '../http/errors.js';
import { createLogger } from '../log.js';
import type { TaskHandler } from '../pool/pool.js';
import { ProjectCache } from './project-cache.js';
import { poolCacheEntry, projectSummary } from './summary.js';
import { CACHE_STATE_KEY, type CacheShipment, type QgisTask } from './workers.js';

let cache: ProjectCache | undefined;

/** The OS id of this thread (Linux: /proc/thread-self → <pid>/task/<tid>), the worker's identity for operators. */
function osThreadId(): number {
  try { return Number(readlinkSync('/proc/thread-self').split('/').pop()); } catch { return process.pid; }
}

const handler: TaskHandler<QgisTask> = async (task, ctx) => {
  const shipped = ctx.layer<CacheShipment>(CACHE_STATE_KEY);
  // The main thread decides loads, reloads and evictions; a worker only mirrors them.
  cache ??= new ProjectCache({ root: shipped.root, size: Infinity, checkInterval: Infinity, log: createLogger(shipped.logLevel) });
  await cache.syncTo(shipped.state);
  switch (task.action) {
    case 'sync': return cache.generation;
    case 'summary': {
      const entry = cache.peek(task.key);
      if (!entry) throw new ApiError(404, 'PROJECT_NOT_CACHED', `Project "${task.key}" is not in this worker's cache.`);
      return projectSummary(entry);
    }
    case 'report': return { pid: osThreadId(), cache: cache.list().map(poolCacheEntry) };
  }
};
export default handler;
