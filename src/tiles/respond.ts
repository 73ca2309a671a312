// Answering a tile request, whatever the format: through the tile cache, 204 for an empty tile,
// strong ETag and 304, gzip when the client accepts it, Cache-Control from the configuration.
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Context } from 'koa';
import type { Services } from '../services.js';
import type { CachedTile } from './cache.js';
import { TILE_FORMATS, tileEtag, type StoredTileAddress } from './store.js';

// zlib's async form runs on libuv's thread pool, off the event loop.
const gzip = promisify(gzipCallback);

/** Whether the request asked to skip caches (a browser's hard reload sends this). */
export function wantsBypass(ctx: Context): boolean {
  return /no-cache|no-store/.test(ctx.get('cache-control')) || ctx.get('pragma') === 'no-cache';
}

export function matches(ifNoneMatch: string, etag: string): boolean {
  return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((t) => t.trim() === etag);
}

/**
 * The tile from the disk store at `address`, else the one `produce` makes, then written to the
 * store unless it is `cheap` (a write costs more main-thread time than making it again; seeding
 * stores those too). `onStore` hears whether the store had it.
 */
export async function throughStore(
  services: Services, address: StoredTileAddress, produce: () => Promise<CachedTile>, onStore?: (hit: boolean) => void,
): Promise<CachedTile> {
  const store = services.tileStore;
  const body = await store.read(address);
  onStore?.(body !== undefined);
  if (body) return { body, etag: tileEtag(body), contentType: TILE_FORMATS[address.format].contentType };
  const generations = store.generations(address.resources);
  const tile = await produce();
  if (tile.cheap) return tile;
  // The store only saves work for later: the write (a folder, a file and a rename) starts after
  // the answer is on its way, and a failed write must not fail the tile that was made.
  setImmediate(() => {
    store.write(address, tile.body, generations)
      .catch((err) => services.log.warn({ err, address }, 'tile not written to the store'));
  });
  return tile;
}

/**
 * Serves the tile cached under `key` (made from `layers`), producing it with `produce` on a miss.
 * Tiles with a `stored` address go through the disk store behind the memory cache.
 * Sets X-Tile-Cache to hit, miss or bypass, and X-Tile-Store to hit or miss when the store was asked.
 */
export async function sendTile(
  ctx: Context, services: Services, key: string, layers: readonly number[], produce: () => Promise<CachedTile>,
  stored?: StoredTileAddress,
): Promise<void> {
  const cache = services.tileCache;
  const bypass = wantsBypass(ctx);
  // A bypass asks for a fresh tile, so the store is skipped too (and not rewritten).
  const make = stored && !bypass
    ? () => throughStore(services, stored, produce, (hit) => ctx.set('X-Tile-Store', hit ? 'hit' : 'miss'))
    : produce;
  const { tile, outcome } = await cache.get(key, layers, make, bypass);
  ctx.set('X-Tile-Cache', outcome);
  ctx.set('Cache-Control', services.config.tileCacheControl);
  if (tile.body.length === 0) {
    ctx.status = 204;
    return;
  }
  ctx.set('Vary', 'Accept-Encoding');
  // Most tile clients send one of a few Accept-Encoding values: negotiate only when gzip may win.
  const gzipped = /gzip|\*/.test(ctx.get('accept-encoding')) && ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
  // Each encoding is its own representation, so each has its own strong validator.
  const etag = gzipped ? `${tile.etag.slice(0, -1)}-gzip"` : tile.etag;
  ctx.set('ETag', etag);
  const ifNoneMatch = ctx.get('if-none-match');
  if (ifNoneMatch && matches(ifNoneMatch, etag)) {
    ctx.status = 304;
    return;
  }
  ctx.type = tile.contentType;
  if (gzipped) {
    let body = tile.gzip;
    if (!body) {
      body = await gzip(tile.body);
      if (outcome !== 'bypass') cache.setGzip(key, body);
    }
    ctx.set('Content-Encoding', 'gzip');
    ctx.body = body;
  } else {
    ctx.body = tile.body;
  }
}
