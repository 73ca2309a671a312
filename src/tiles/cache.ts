// A cache of served tiles (any format), bounded in bytes and evicting the least recently used.
// Empty tiles are cached too (an empty body). Entries are indexed by the layers they were made
// from, so a layer whose data changes drops exactly its tiles. Concurrent misses for one key
// share a single production.

export interface CachedTile {
  /** Empty for a tile with nothing in it. */
  body: Buffer;
  /** Strong validator of `body`, quoted. */
  etag: string;
  contentType: string;
  /** The gzip encoding of `body`, added when first asked for (see `setGzip`). */
  gzip?: Buffer;
  /**
   * Made on the main thread in microseconds (an index probe, a pre-cut tile, a small cut): making
   * it again costs less than writing it to the disk store, so the live path does not store it.
   */
  cheap?: boolean;
}

export interface TileKeyParts {
  format: string;
  resources: readonly number[];
  z: number;
  x: number;
  y: number;
  /** Everything else that changes the bytes, e.g. "extent=4096&padding=0.05". */
  params?: string;
}

export interface TileCacheStats {
  hits: number;
  misses: number;
  /** Requests that asked not to be served from the cache. */
  bypasses: number;
  evictions: number;
  invalidations: number;
  entries: number;
  bytes: number;
  maxBytes: number;
}

/** 'shared': not in this instance's memory, but in the cache all instances share (Redis). */
export type CacheOutcome = 'hit' | 'shared' | 'miss' | 'bypass';

/** A cache behind this one that several instances share (see redis-cache.ts). */
export interface SharedTiles {
  /** The shared tile for `key`, else the one `produce` makes, then shared; `hit` says which. */
  through(key: string, layers: readonly number[], produce: () => Promise<CachedTile>): Promise<{ tile: CachedTile; hit: boolean }>;
}

interface Entry {
  key: string;
  tile: CachedTile;
  layers: readonly number[];
  bytes: number;
  /** Neighbours in the recency list: the entry used just before this one, and just after. */
  older: Entry | null;
  newer: Entry | null;
}

/** A tile being made for whoever asked for it meanwhile. */
interface Production {
  answer: Promise<{ tile: CachedTile; hit: boolean }>;
  /** The layers the tile is made from. */
  layers: readonly number[];
  /** Askers waiting that may leave; Infinity once one came that cannot (it is then never abandoned). */
  waiting: number;
  /** Aborted when every asker has left. */
  abandon: AbortController;
}

/** Bookkeeping per entry beyond its bodies (key, map slots, object headers), as a rough constant. */
const ENTRY_OVERHEAD = 256;

export function tileKey(p: TileKeyParts): string {
  return `${p.format}|${p.resources.join(',')}|${p.z}/${p.x}/${p.y}|${p.params ?? ''}`;
}

export class TileCache {
  private readonly entries = new Map<string, Entry>();
  /**
   * The entries in recency order, as a linked list: a hit moves its entry to the newest end with a
   * few pointer writes (deleting and setting the key again, the usual JS idiom, cost some 10% of a
   * cached tile's throughput: a Map's deleted slots are reclaimed by rebuilding its table).
   */
  private oldest: Entry | null = null;
  private newest: Entry | null = null;
  private readonly keysByLayer = new Map<number, Set<string>>();
  /** Bumped when a layer is invalidated, so a tile produced from older data is not stored. */
  private readonly generation = new Map<number, number>();
  private readonly inFlight = new Map<string, Production>();
  private bytes = 0;
  /** Bytes of cached bodies in shared memory (results from workers, see pool/shared-results.ts). */
  private inSharedMemory = 0;
  private counts = { hits: 0, misses: 0, bypasses: 0, evictions: 0, invalidations: 0 };

  constructor(readonly maxBytes: number, private readonly shared?: SharedTiles) {}

  /**
   * The cached tile for `key`, else the one `produce` makes (stored unless `bypass`).
   * `layers` are the layer ids the tile is made from. `asker` gives a signal that aborts when
   * whoever asked has gone (see http/client-gone.ts), asked for on a miss only: once every asker of
   * a tile being made has gone, `produce`'s signal aborts (work queued for it is dropped, a task
   * making it stopped, a PostGIS query making it cancelled) and the next asker starts afresh.
   */
  async get(
    key: string, layers: readonly number[], produce: (signal?: AbortSignal) => Promise<CachedTile>, bypass = false, asker?: () => AbortSignal,
  ): Promise<{ tile: CachedTile; outcome: CacheOutcome }> {
    if (bypass) {
      this.counts.bypasses++;
      return { tile: await produce(asker?.()), outcome: 'bypass' };
    }
    const cached = this.hit(key);
    if (cached) return { tile: cached, outcome: 'hit' };
    this.counts.misses++;
    const production = this.inFlight.get(key) ?? this.produce(key, layers, produce);
    this.waitFor(key, production, asker?.());
    const { tile, hit } = await production.answer;
    return { tile, outcome: hit ? 'shared' : 'miss' };
  }

  private produce(key: string, layers: readonly number[], produce: (signal: AbortSignal) => Promise<CachedTile>): Production {
    const generations = layers.map((l) => this.generation.get(l) ?? 0);
    const abandon = new AbortController();
    const make = () => produce(abandon.signal);
    const made = this.shared ? this.shared.through(key, layers, make) : make().then((tile) => ({ tile, hit: false }));
    const answer = made.then((answer) => {
      // Stored even when every asker has gone by now: the work is done.
      if (layers.every((l, i) => (this.generation.get(l) ?? 0) === generations[i])) this.store(key, layers, answer.tile);
      return answer;
    }).finally(() => this.settled(key, abandon));
    const production: Production = { answer, layers, waiting: 0, abandon };
    this.inFlight.set(key, production);
    return production;
  }

  private waitFor(key: string, production: Production, asker: AbortSignal | undefined): void {
    if (!asker) {
      production.waiting = Infinity;
      return;
    }
    production.waiting++;
    const leave = () => {
      if (--production.waiting > 0) return;
      this.settled(key, production.abandon);
      production.abandon.abort(asker.reason);
    };
    if (asker.aborted) leave();
    else asker.addEventListener('abort', leave, { once: true });
  }

  /** The production `abandon` belongs to is done with (made, failed or abandoned): a later miss starts another. */
  private settled(key: string, abandon: AbortController): void {
    if (this.inFlight.get(key)?.abandon === abandon) this.inFlight.delete(key);
  }

  /**
   * The cached tile for `key`, else the one `make` gives at once (counted as a miss and kept), else
   * undefined; no promise on the way. `make` runs synchronously, so no invalidation comes between.
   * Such tiles skip the shared tier: making one again costs less than asking for it.
   */
  now(key: string, layers: readonly number[], make: () => CachedTile | undefined): { tile: CachedTile; outcome: CacheOutcome } | undefined {
    const cached = this.hit(key);
    if (cached) return { tile: cached, outcome: 'hit' };
    const tile = make();
    if (!tile) return undefined;
    this.counts.misses++;
    this.store(key, layers, tile);
    return { tile, outcome: 'miss' };
  }

  /** The cached tile for `key` (counted as a hit and made the most recent), or undefined (not counted). */
  hit(key: string): CachedTile | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.counts.hits++;
    if (entry !== this.newest) {
      this.unlink(entry);
      this.append(entry);
    }
    return entry.tile;
  }

  /** Records the gzip encoding of a cached tile (counted in the byte budget). */
  setGzip(key: string, gzip: Buffer): void {
    const entry = this.entries.get(key);
    if (!entry || entry.tile.gzip) return;
    entry.tile.gzip = gzip;
    entry.bytes += gzip.length;
    this.bytes += gzip.length;
    this.evict();
  }

  /** Drops every tile made from `layer`: its data changed. */
  invalidateLayer(layer: number): void {
    this.generation.set(layer, (this.generation.get(layer) ?? 0) + 1);
    // Tiles being made from the old data finish for those who asked; later askers start afresh.
    for (const [key, production] of this.inFlight) if (production.layers.includes(layer)) this.inFlight.delete(key);
    const keys = this.keysByLayer.get(layer);
    if (!keys) return;
    this.counts.invalidations += keys.size;
    for (const key of [...keys]) this.remove(key);
  }

  /** Drops one tile (a truncate job removed it from the store); true if it was cached. */
  delete(key: string): boolean {
    if (!this.entries.has(key)) return false;
    this.remove(key);
    this.counts.invalidations++;
    return true;
  }

  /** Bytes of the cached tiles whose bodies are in shared memory. */
  get sharedBytes(): number {
    return this.inSharedMemory;
  }

  stats(): TileCacheStats {
    return { ...this.counts, entries: this.entries.size, bytes: this.bytes, maxBytes: this.maxBytes };
  }

  private store(key: string, layers: readonly number[], tile: CachedTile): void {
    const bytes = tile.body.length + (tile.gzip?.length ?? 0) + key.length + ENTRY_OVERHEAD;
    if (bytes > this.maxBytes) return;
    this.remove(key);
    const entry: Entry = { key, tile, layers, bytes, older: null, newer: null };
    this.entries.set(key, entry);
    this.append(entry);
    this.bytes += bytes;
    this.inSharedMemory += sharedLength(tile);
    for (const l of layers) {
      let keys = this.keysByLayer.get(l);
      if (!keys) this.keysByLayer.set(l, (keys = new Set()));
      keys.add(key);
    }
    this.evict();
  }

  private evict(): void {
    while (this.bytes > this.maxBytes && this.oldest) {
      this.remove(this.oldest.key);
      this.counts.evictions++;
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.unlink(entry);
    this.bytes -= entry.bytes;
    this.inSharedMemory -= sharedLength(entry.tile);
    for (const l of entry.layers) {
      const keys = this.keysByLayer.get(l);
      keys?.delete(key);
      if (keys?.size === 0) this.keysByLayer.delete(l);
    }
  }

  /** Takes `entry` out of the recency list. */
  private unlink(entry: Entry): void {
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older;
    entry.older = entry.newer = null;
  }

  /** Puts `entry` at the newest end of the recency list. */
  private append(entry: Entry): void {
    entry.older = this.newest;
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
  }
}

function sharedLength(tile: CachedTile): number {
  return tile.body.buffer instanceof SharedArrayBuffer ? tile.body.buffer.byteLength : 0;
}
