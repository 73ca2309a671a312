// The tile cache every instance shares (MERIDIAN_REDIS_URL), behind each instance's memory cache.
// Keys carry, for each layer a tile was made from, a digest of the data this instance loaded it from
// (instances with other data, say during a rolling restart after a file changed, never share tiles)
// and its generation: invalidating a layer bumps its generation (INCR) and publishes it, so every
// instance drops that layer's tiles from memory and asks for keys no stale tile is stored under
// (old ones age out by TTL or Redis's LRU: run Redis with maxmemory and maxmemory-policy
// allkeys-lru). Redis is an optimisation: when it cannot be reached, tiles are made and served as
// without it, and the outage is logged once. Beside the tiles it keeps the digests their keys carry,
// by source path and stamp, so that an instance started again over unchanged files reads none of
// them to digest it: a digest serves only to find tiles here, and lives as long as they do.
import { once } from 'node:events';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { Config } from '../config.js';
import type { DigestStore } from '../store/source-files.js';
import type { CachedTile, SharedTiles, TileCache } from './cache.js';

/** A Redis that answers slower than this is treated as down for that tile: the tile is made here. */
const COMMAND_TIMEOUT_MS = 500;

export interface RedisCacheOptions {
  /** Starts every key and the invalidation channel, so deployments can share one Redis (MERIDIAN_REDIS_PREFIX). */
  prefix: string;
  /** Seconds a shared tile lives (MERIDIAN_REDIS_TTL). */
  ttl: number;
  log: Logger;
  /** Another instance invalidated `layer` (or notifications were missed: every known layer). */
  onInvalidate: (layer: number) => void;
}

/** Stored value: etag, newline, content type, newline, body bytes. */
function encode(tile: CachedTile): Buffer {
  return Buffer.concat([Buffer.from(`${tile.etag}\n${tile.contentType}\n`), tile.body]);
}

function decode(value: Buffer): CachedTile {
  const first = value.indexOf(10), second = value.indexOf(10, first + 1);
  return { etag: value.subarray(0, first).toString(), contentType: value.subarray(first + 1, second).toString(), body: value.subarray(second + 1) };
}

export class RedisTileCache implements SharedTiles, DigestStore {
  private readonly client: Redis;
  private readonly subscriber: Redis;
  /** Layer → generation, as last read or published; refilled from Redis after an outage. */
  private readonly generations = new Map<number, number>();
  /** Layer → digest of the data loaded here (see sourceDigest); a layer without one skips this tier. */
  private readonly digests = new Map<number, string>();
  /** Invalidations that could not reach Redis, sent again once it is back. */
  private readonly unsent = new Set<number>();
  private down = false;

  private readonly invalidations: string;

  constructor(url: string, private readonly options: RedisCacheOptions) {
    this.invalidations = `${options.prefix}invalidate`;
    const common = {
      // Fail at once while disconnected (the tile is made here instead) and keep reconnecting.
      enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
    };
    this.client = new Redis(url, common);
    // A subscribed connection can run nothing else; its offline queue replays SUBSCRIBE on reconnect.
    this.subscriber = new Redis(url, { ...common, enableOfflineQueue: true, commandTimeout: undefined });
    for (const c of [this.client, this.subscriber]) {
      c.on('error', (err: Error) => this.unavailable(err));
      c.on('ready', () => this.available());
    }
    this.subscriber.on('message', (_channel: string, message: string) => {
      const [layer, generation] = message.split(':').map(Number);
      if ((this.generations.get(layer) ?? -1) < generation) this.generations.set(layer, generation);
      options.onInvalidate(layer);
    });
    this.subscriber.subscribe(this.invalidations).catch((err: Error) => this.unavailable(err));
  }

  private generationKey(layer: number): string {
    return `${this.options.prefix}gen:${layer}`;
  }

  private unavailable(err: Error): void {
    if (this.down) return;
    this.down = true;
    this.options.log.warn({ err: err.message }, 'shared tile cache (Redis) unavailable; tiles are made here until it is back');
  }

  /** Back after an outage: invalidations may have been missed, so generations are re-read and memory caches emptied. */
  private available(): void {
    if (!this.down) return;
    this.down = false;
    this.options.log.info('shared tile cache (Redis) available again');
    const known = [...this.generations.keys()];
    this.generations.clear();
    for (const layer of known) this.options.onInvalidate(layer);
    for (const layer of this.unsent) void this.invalidateLayer(layer);
  }

  /**
   * Per machine: a stamp stands for a file's content on the machine that stat-ed it, but two machines
   * can hold different files under one path and stamp (a copy whose time was set so).
   */
  private digestKey(path: string, stamp: string): string {
    return `${this.options.prefix}digest:${hostname()}:${path}@${stamp}`;
  }

  /** Kept for a tile's TTL since the last start that asked for it (renewed when found: GET then EXPIRE, which every Redis has). */
  async storedDigest(path: string, stamp: string): Promise<string | undefined> {
    try {
      // Layers load, and ask, as the instance starts: the client may not be connected yet.
      if (this.client.status !== 'ready') await once(this.client, 'ready', { signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS) }).catch(() => {});
      const key = this.digestKey(path, stamp);
      const digest = await this.client.get(key);
      if (digest !== null) this.client.expire(key, this.options.ttl).catch((err: Error) => this.unavailable(err));
      return digest ?? undefined;
    } catch (err) {
      this.unavailable(err as Error);
      return undefined;
    }
  }

  storeDigest(path: string, stamp: string, digest: string): void {
    this.client.set(this.digestKey(path, stamp), digest, 'EX', this.options.ttl).catch((err: Error) => this.unavailable(err));
  }

  /** The data `layer` was loaded from here is `digest`; undefined while it is not known (its tiles skip this tier). */
  setDigest(layer: number, digest: string | undefined): void {
    if (digest === undefined) this.digests.delete(layer);
    else this.digests.set(layer, digest);
  }

  private async keyOf(key: string, layers: readonly number[]): Promise<string | undefined> {
    // The digests of the data the tile is made from: those known now, as the request holds that data.
    const digests = layers.map((l) => this.digests.get(l));
    if (digests.includes(undefined)) return undefined;
    const unknown = layers.filter((l) => !this.generations.has(l));
    if (unknown.length) {
      const values = await this.client.mget(...unknown.map((l) => this.generationKey(l)));
      unknown.forEach((l, i) => this.generations.set(l, Number(values[i] ?? 0)));
      // A layer reloaded meanwhile: its tile is made from the old data, which no key names any more.
      if (layers.some((l, i) => this.digests.get(l) !== digests[i])) return undefined;
    }
    return `${this.options.prefix}tile:${key}@${layers.map((l, i) => `${digests[i]}.${this.generations.get(l)}`).join(',')}`;
  }

  async through(key: string, layers: readonly number[], produce: () => Promise<CachedTile>): Promise<{ tile: CachedTile; hit: boolean }> {
    let shared: string | undefined;
    try {
      shared = await this.keyOf(key, layers);
      const value = shared && await this.client.getBuffer(shared);
      if (value) return { tile: decode(value), hit: true };
    } catch (err) {
      this.unavailable(err as Error);
    }
    const tile = await produce();
    if (shared) this.client.set(shared, encode(tile), 'EX', this.options.ttl).catch((err: Error) => this.unavailable(err));
    return { tile, hit: false };
  }

  /** `layer`'s data changed: every instance stops using its shared tiles. */
  async invalidateLayer(layer: number): Promise<void> {
    this.unsent.delete(layer);
    try {
      const generation = await this.client.incr(this.generationKey(layer));
      this.generations.set(layer, generation);
      await this.client.publish(this.invalidations, `${layer}:${generation}`);
    } catch (err) {
      this.unsent.add(layer);
      this.unavailable(err as Error);
    }
  }

  async close(): Promise<void> {
    this.client.disconnect();
    this.subscriber.disconnect();
  }
}

/**
 * The shared tile cache, or none without MERIDIAN_REDIS_URL. Layers reloaded here (not
 * their first load at start, which every instance does) invalidate their tiles on every instance;
 * each load digests the layer's source for the keys (read only for a stamp Redis has no digest of).
 */
export function sharedTileCache(config: Pick<Config, 'redisUrl' | 'redisTtl' | 'redisPrefix'>, catalog: Catalog, log: Logger, memory: () => TileCache): RedisTileCache | undefined {
  if (!config.redisUrl) return undefined;
  const shared = new RedisTileCache(config.redisUrl, {
    prefix: config.redisPrefix, ttl: config.redisTtl, log, onInvalidate: (layer) => memory().invalidateLayer(layer),
  });
  /** Layer → how many times it was loaded, so that a reload's digest never gives way to an older one. */
  const loads = new Map<number, number>();
  catalog.onLayerChange((id) => {
    const load = (loads.get(id) ?? 0) + 1;
    loads.set(id, load);
    if (load > 1) {
      // Reloaded: until the new data's digest is known, its tiles must not go under the old one's keys.
      shared.setDigest(id, undefined);
      void shared.invalidateLayer(id);
    }
    // A digest of files changed since the data was read would name data this instance does not hold.
    catalog.sourceDigest(id, shared).then((digest) => {
      if (loads.get(id) === load && catalog.currentStamp(id) === catalog.loadedStamp(id)) shared.setDigest(id, digest);
    })
      .catch((err: Error) => log.warn({ layer: id, err: err.message }, 'layer source not digested; its tiles are not shared'));
  });
  return shared;
}
