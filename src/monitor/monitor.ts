// The monitor: every counter and source the monitoring API and /metrics read, in one object
// (services.monitor). Caches and the pool register here; the counting itself is in count.ts.
import { ConnectionCounters } from './connections.js';
import { HttpCounters } from './counters.js';
import { createKeyvals, type KeyvalZone } from './keyvals.js';
import type { CacheStats, MonitoredCache, MonitoredPool } from './sources.js';
import type { CacheOutcome } from './tile-sources.js';
import { SystemStats } from './system.js';

const ZERO_CACHE: CacheStats = { size: 0, max_size: 0, hit: { responses: 0, bytes: 0 }, miss: { responses: 0, bytes: 0 }, bypass: { responses: 0, bytes: 0 } };

/** Counters minus the reading taken at the last reset (size and max_size are levels, not counters). */
function sinceReset(now: CacheStats, base: CacheStats): CacheStats {
  const minus = (k: 'hit' | 'miss' | 'bypass') => ({ responses: now[k].responses - base[k].responses, bytes: now[k].bytes - base[k].bytes });
  return { size: now.size, max_size: now.max_size, hit: minus('hit'), miss: minus('miss'), bypass: minus('bypass') };
}

export class Monitor {
  readonly http: HttpCounters;
  readonly connections = new ConnectionCounters();
  readonly keyvals: Map<string, KeyvalZone> = createKeyvals();
  readonly system = new SystemStats();
  readonly loadedAt = Date.now();
  /** Tile requests timed and their total seconds (the Prometheus histogram has the distribution). */
  readonly tileLatency = { count: 0, seconds: 0 };
  /** Tile body bytes sent per X-Tile-Cache answer (the tile cache counts responses, not bytes). */
  readonly tileBytes: Record<CacheOutcome, number> = { hit: 0, miss: 0, bypass: 0 };
  private readonly caches = new Map<string, { cache: MonitoredCache; base: CacheStats }>();
  private pool?: MonitoredPool;
  private respawnedBase = 0;

  constructor(monitorPath: string) {
    this.http = new HttpCounters(monitorPath);
  }

  tileServed(seconds: number, cacheOutcome: unknown, sent: number): void {
    this.tileLatency.count++;
    this.tileLatency.seconds += seconds;
    // A tile from the shared cache (Redis) missed this instance's memory cache, which counted it so.
    const outcome = cacheOutcome === 'shared' ? 'miss' : cacheOutcome;
    if (outcome === 'hit' || outcome === 'miss' || outcome === 'bypass') this.tileBytes[outcome] += sent;
  }

  addCache(name: string, cache: MonitoredCache): void {
    this.caches.set(name, { cache, base: ZERO_CACHE });
  }

  setPool(pool: MonitoredPool): void {
    this.pool = pool;
    this.respawnedBase = 0;
  }

  cacheNames(): string[] {
    return [...this.caches.keys()];
  }

  cache(name: string): CacheStats | undefined {
    const c = this.caches.get(name);
    return c && sinceReset(c.cache.stats(), c.base);
  }

  resetCache(name: string): void {
    const c = this.caches.get(name);
    if (c) c.base = c.cache.stats();
  }

  poolWorkers() {
    return this.pool?.workers() ?? [];
  }

  respawned(): number {
    return (this.pool?.respawned() ?? 0) - this.respawnedBase;
  }

  poolAbandoned(): { queued: number; running: number } {
    return this.pool?.abandoned() ?? { queued: 0, running: 0 };
  }

  resetRespawned(): void {
    this.respawnedBase = this.pool?.respawned() ?? 0;
  }
}
