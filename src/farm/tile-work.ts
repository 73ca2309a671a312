// What a job does to one tile: make it into the store unless it is there (seed), or remove it from
// the store and the memory cache (truncate; reseed does both, clearing first).
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../http/errors.js';
import { featureLayerOf } from '../http/resources.js';
import type { FarmServices } from './farm.js';
import type { TileAddress } from '../tiles/address.js';
import { tileKey, type CachedTile } from '../tiles/cache.js';
import type { StoredTileAddress } from '../tiles/store.js';
import { DEFAULT_MVT_OPTIONS, mvtCacheParams } from '../tiling/mvt-tiles.js';
import { tileAt, blockSize } from './tile-grid.js';
import type { JobSpec, TileBlock } from './types.js';

/** How long seeding waits for a busy pool (live requests first) before counting a tile failed. */
const BUSY_RETRIES = 60;
const isBusy = (err: unknown) => err instanceof ApiError && (err.code === 'POOL_BUSY' || err.code === 'QUEUE_TIMEOUT');

/** `make()`, tried again a second later while the pool sheds load: a busy pool is no failed tile. */
async function whileBusy<T>(make: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await make();
    } catch (err) {
      if (!isBusy(err) || attempt >= BUSY_RETRIES) throw err;
      await sleep(1000);
    }
  }
}

export type TileOutcome = 'generated' | 'skipped' | 'failed';

/** A job's layers as taken at one moment, with the tile store's generations of them then. */
interface Taken {
  make: (at: TileAddress) => Promise<CachedTile>;
  generations: number[];
}

/** The job's layers as they are now (their data may have changed since the job was made). */
async function take(services: FarmServices, job: JobSpec): Promise<Taken> {
  const entries = job.resources.map((id) => services.catalog.get(id)!);
  if (job.format === 'mvt') {
    const layers = await Promise.all(entries.map(async (e) => ({ id: e.id, layer: await featureLayerOf(services, e) })));
    return { make: (at) => services.mvtTiles.make(layers, at), generations: services.tileStore.generations(job.resources) };
  }
  const styled = await Promise.all(entries.map((e) => services.renderer.styledLayer(e)));
  return { make: (at) => services.renderer.tile(styled, at), generations: services.tileStore.generations(job.resources) };
}

export class TileWork {
  private constructor(private readonly services: FarmServices, private readonly job: JobSpec, private taken: Taken) {}

  static async of(services: FarmServices, job: JobSpec): Promise<TileWork> {
    return new TileWork(services, job, await take(services, job));
  }

  private address(at: TileAddress): StoredTileAddress {
    return { format: this.job.format, resources: this.job.resources, ...at };
  }

  /** Makes the tile into the store unless the store has it (so a resumed task never redoes one). */
  async seed(at: TileAddress): Promise<TileOutcome> {
    const { tileStore, log } = this.services;
    const address = this.address(at);
    if (tileStore.has(address)) return 'skipped';
    try {
      // A layer changed since its data was taken (reloaded while the task runs): take it again, as a
      // tile of the old data would not be kept (and must not be, under the new data's generation).
      if (tileStore.generations(address.resources).some((g, i) => g !== this.taken.generations[i])) this.taken = await take(this.services, this.job);
      const { make, generations } = this.taken;
      const tile = await whileBusy(() => make(at));
      if (await tileStore.write(address, tile.body, generations)) return 'generated';
      // Its layer changed meanwhile (or it is larger than the whole store): the job must not report it stored.
      log.warn({ tile: address }, 'seeded tile not kept by the store');
      return 'failed';
    } catch (err) {
      log.warn({ err, tile: address }, 'seeding a tile failed');
      return 'failed';
    }
  }

  /** Removes every tile of the block from the store and the memory cache (default-parameter tiles: the ones stored). */
  async clear(block: TileBlock): Promise<void> {
    const { tileStore, tileCache } = this.services;
    const params = this.job.format === 'mvt' ? mvtCacheParams(DEFAULT_MVT_OPTIONS) : undefined;
    for (let i = 0; i < blockSize(block); i++) {
      const at = tileAt(block, i);
      await tileStore.remove(this.address(at));
      tileCache.delete(tileKey({ format: this.job.format, resources: this.job.resources, ...at, params }));
    }
  }
}
