// The tile cache and the worker pool as the monitor reads them (see sources.ts).
import type { WorkerPool } from '../pool/pool.js';
import type { TileCache } from '../tiles/cache.js';
import type { TileStore } from '../tiles/store.js';
import type { CacheStats, MonitoredCache, MonitoredPool } from './sources.js';

export type CacheOutcome = 'hit' | 'miss' | 'bypass';

type Counts = [responses: number, bytes: number];

function cacheStats(size: { bytes: number; maxBytes: number }, [hit, hitBytes]: Counts, [miss, missBytes]: Counts, [bypass, bypassBytes]: Counts): CacheStats {
  return {
    size: size.bytes, max_size: size.maxBytes,
    hit: { responses: hit, bytes: hitBytes },
    miss: { responses: miss, bytes: missBytes },
    bypass: { responses: bypass, bytes: bypassBytes },
  };
}

/**
 * Responses and sizes are the cache's own counters; the bytes per outcome are what the counting
 * middleware saw sent under each X-Tile-Cache answer (the cache does not know what was sent).
 */
export function tileCacheSource(cache: TileCache, sentBytes: Record<CacheOutcome, number>): MonitoredCache {
  return {
    stats(): CacheStats {
      const s = cache.stats();
      return cacheStats(s, [s.hits, sentBytes.hit], [s.misses, sentBytes.miss], [s.bypasses, sentBytes.bypass]);
    },
  };
}

/** The disk store: hits with the bytes read from disk; misses are tiles then produced (and written). */
export function tileStoreSource(store: TileStore): MonitoredCache {
  return {
    stats(): CacheStats {
      const s = store.stats();
      return cacheStats(s, [s.hits, s.hitBytes], [s.misses, 0], [0, 0]);
    },
  };
}

/** Worker threads share the process id; "respawned" counts abnormal ends (crashes, timeouts), as nginx does. */
export function poolSource(pool: WorkerPool): MonitoredPool {
  return {
    workers: () => pool.stats().workers.map((w) => ({ id: w.id, pid: process.pid, threadId: w.threadId, memory: w.heapUsed ?? undefined, busy: w.busy })),
    respawned: () => { const s = pool.stats(); return s.crashes + s.timeouts; },
    abandoned: () => { const s = pool.stats(); return { queued: s.abandoned, running: s.stopped }; },
  };
}
