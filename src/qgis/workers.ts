// The main thread's side of the per-worker project caches: every QGIS task ships the cache state
// (as pool "layer" data, versioned by the cache generation, so each worker, including one started
// later, receives each new state once) and the worker mirrors it before answering.
import { taskModule, type WorkerAnswer, type WorkerPool } from '../pool/pool.js';
import type { ProjectCache, CacheState } from './project-cache.js';
import type { poolCacheEntry, ProjectSummary } from './summary.js';

export const CACHE_STATE_KEY = 'qgis:cache-state';
const TASK = 'qgis';

export interface CacheShipment {
  root: string;
  logLevel: string;
  state: CacheState;
}

export type QgisTask = { action: 'sync' } | { action: 'report' } | { action: 'summary'; key: string };

export interface WorkerReport {
  /** OS thread id of the worker. */
  pid: number;
  cache: ReturnType<typeof poolCacheEntry>[];
}

export class ProjectWorkers {
  constructor(private readonly pool: WorkerPool, private readonly projects: ProjectCache, private readonly logLevel: string) {
    pool.register(TASK, taskModule('./pool-task.js', import.meta.url));
  }

  private options() {
    const { projects } = this;
    const state: CacheShipment = { root: projects.options.root, logLevel: this.logLevel, state: projects.state() };
    return { layers: [{ key: CACHE_STATE_KEY, version: state.state.generation, data: () => state }] };
  }

  /** A cached project as a worker holds it. */
  summary(key: string): Promise<ProjectSummary> {
    return this.pool.run(TASK, { action: 'summary', key } satisfies QgisTask, this.options());
  }

  /** Applies the current cache state on every worker now (PUT and DELETE do not wait for the next task). */
  async sync(): Promise<void> {
    await this.pool.broadcast(TASK, { action: 'sync' } satisfies QgisTask, this.options());
  }

  report(): Promise<WorkerAnswer<WorkerReport>[]> {
    return this.pool.broadcast(TASK, { action: 'report' } satisfies QgisTask, this.options());
  }
}
