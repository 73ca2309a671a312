// The tile cache and the worker pool as the monitor reads them (see sources.ts).
import type { WorkerPool } from '../pool/pool.js';
import type { TileCache } from '../tiles/cache.js';
import type { CacheStats, MonitoredCache, MonitoredPool } from './sources.js';

export type CacheOutcome = 'hit' | 'miss' | 'bypass';

/**
 * Responses and sizes are the cache's own counters; the bytes per outcome are what the counting
 * middleware saw sent under each X-Tile-Cache answer (the cache does not know what was sent).
 */
export function tileCacheSource(cache: TileCache, sentBytes: Record<CacheOutcome, number>): MonitoredCache {
  return {
    stats(): CacheStats {
      const s = cache.stats();
      return {
        size: s.bytes, max_size: s.maxBytes,
        hit: { responses: s.hits, bytes: sentBytes.hit },
        miss: { responses: s.misses, bytes: sentBytes.miss },
        bypass: { responses: s.bypasses, bytes: sentBytes.bypass },
      };
    },
  };
}

/** Worker threads share the process id; "respawned" counts abnormal ends (crashes, timeouts), as nginx does. */
export function poolSource(pool: WorkerPool): MonitoredPool {
  return {
    workers: () => pool.stats().workers.map((w) => ({ id: w.id, pid: process.pid, threadId: w.threadId, memory: w.heapUsed ?? undefined, busy: w.busy })),
    respawned: () => { const s = pool.stats(); return s.crashes + s.timeouts; },
  };
}
