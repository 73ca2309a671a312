// What the monitoring API reads from other parts of Meridian: tile caches and the worker pool.
// They register themselves here (services.monitor); the monitor only ever reads them.

export interface Traffic {
  responses: number;
  bytes: number;
}

/** A tile cache's running totals since it was created (the monitor subtracts its own reset baseline). */
export interface CacheStats {
  /** Bytes held now, and the bound. */
  size: number;
  max_size: number;
  hit: Traffic;
  miss: Traffic;
  /** Answered without the cache (e.g. a request the cache must not serve). */
  bypass: Traffic;
}

export interface MonitoredCache {
  stats(): CacheStats;
}

export interface PoolWorker {
  /** Stable index of the worker in the pool. */
  id: number;
  /** Operating-system process id (a worker thread shares its parent's). */
  pid: number;
  threadId?: number;
  /** Bytes of memory the worker uses, when the pool can tell. */
  memory?: number;
  busy?: boolean;
}

export interface MonitoredPool {
  workers(): PoolWorker[];
  /** Workers replaced after exiting or being restarted, since the pool was created. */
  respawned(): number;
  /** Tasks whose askers had gone, since the pool was created: dropped while queued, stopped while running. */
  abandoned(): { queued: number; running: number };
}
