// Answering a tile request, whatever the format: through the tile cache, 204 for an empty tile,
// strong ETag and 304, gzip when the client accepts it, Cache-Control from the configuration.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import accepts from 'accepts';
import type { Context } from 'koa';
import { clientGone } from '../http/client-gone.js';
import type { Services } from '../services.js';
import type { CachedTile, CacheOutcome, TileCache } from './cache.js';
import { tileEtag } from './etag.js';
import { TILE_FORMATS, type StoredTileAddress } from './store.js';

// zlib's async form runs on libuv's thread pool, off the event loop.
const gzip = promisify(gzipCallback);

/**
 * Whether to skip the caches: an administrator asked to (`Cache-Control: no-cache`, as a hard reload
 * sends it). Anyone else is answered from them: they never hold tiles of data older than the
 * layer's (dropped when it changes), and honoured for all, a client could have every tile it asks
 * cut or drawn afresh.
 */
export function wantsBypass(ctx: Context): boolean {
  const { headers } = ctx.req;
  return ctx.state.user?.administrator === true
    && (/no-cache|no-store/.test(headers['cache-control'] ?? '') || headers.pragma === 'no-cache');
}

export function matches(ifNoneMatch: string, etag: string): boolean {
  return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((t) => t.trim() === etag);
}

/**
 * The tile from the disk store at `address`, else the one `produce` makes, then written to the
 * store unless it is `cheap` (a write costs more main-thread time than making it again; seeding
 * stores those too). `onStore` hears whether the store had it. `generations`: the store's
 * generations of the tile's layers when the request took hold of their data, before any await
 * (a layer reloaded since makes the write stale: it is not made).
 */
async function throughStore(
  services: Services, address: StoredTileAddress, generations: number[], produce: () => Promise<CachedTile>, onStore?: (hit: boolean) => void,
): Promise<CachedTile> {
  const store = services.tileStore;
  const body = await store.read(address);
  onStore?.(body !== undefined);
  if (body) return { body, etag: tileEtag(body), contentType: TILE_FORMATS[address.format].contentType };
  const tile = await produce();
  if (tile.cheap) return tile;
  // The store only saves work for later: the write waits until tiles stop coming, and a failed
  // write must not fail the tile that was made.
  store.writeLater(address, tile.body, generations)
    .catch((err) => services.log.warn({ err, address }, 'tile not written to the store'));
  return tile;
}

/** What to answer with a tile: status, headers and body (none for 204 and 304). */
export interface TileReply {
  status: 200 | 204 | 304;
  /** Names and values in turn, as node's writeHead takes them (the anonymous path sends them so). */
  headers: string[];
  body?: Buffer;
  /** The client takes gzip, which this tile does not have yet: see `withGzip`. */
  gzipMissing?: true;
}

/**
 * The reply to `req` with `tile`, found in the cache with `outcome`: 204 when empty, 304 when the
 * client has it, gzip when it accepts it. Shared by the Koa route and the anonymous tile path
 * before Koa (routes/mvt-anonymous.ts), so both answer alike.
 */
export function tileReply(req: IncomingMessage, tile: CachedTile, outcome: CacheOutcome, cacheControl: string): TileReply {
  const headers = ['X-Tile-Cache', outcome, 'Cache-Control', cacheControl];
  if (tile.body.length === 0) return { status: 204, headers };
  headers.push('Vary', 'Accept-Encoding');
  // Most tile clients send one of a few Accept-Encoding values: negotiate only when gzip may win.
  const gzipped = /gzip|\*/.test(req.headers['accept-encoding'] ?? '') && accepts(req).encodings('gzip', 'identity') === 'gzip';
  // Each encoding is its own representation, so each has its own strong validator.
  const etag = gzipped ? `${tile.etag.slice(0, -1)}-gzip"` : tile.etag;
  headers.push('ETag', etag);
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch && matches(ifNoneMatch, etag)) return { status: 304, headers };
  headers.push('Content-Type', tile.contentType);
  if (!gzipped) return { status: 200, headers, body: tile.body };
  headers.push('Content-Encoding', 'gzip');
  return tile.gzip ? { status: 200, headers, body: tile.gzip } : { status: 200, headers, gzipMissing: true };
}

/** The reply with the tile's gzip encoding made, and kept in the cache under `key` beside the tile. */
export async function withGzip(reply: TileReply, cache: TileCache, key: string, tile: CachedTile, outcome: CacheOutcome): Promise<TileReply> {
  const body = await gzip(tile.body);
  if (outcome !== 'bypass') cache.setGzip(key, body);
  return { status: reply.status, headers: reply.headers, body };
}

/** A tile as `tileFor` found or made it. */
export interface FoundTile {
  tile: CachedTile;
  outcome: CacheOutcome;
  /** Whether the disk store had it, when it was asked. */
  storeHit?: boolean;
}

/** How `tileFor` may find or make a tile besides `produce`. */
export interface TileSources {
  /** Where the tile lives in the disk store, behind the memory cache. */
  stored?: StoredTileAddress;
  /** Skip both caches: a fresh tile (the store is not rewritten either). */
  bypass?: boolean;
  /** The tile when it can be made at once on the main thread (see TileCache.now); tried first. */
  atOnce?: () => CachedTile | undefined;
  /** The response the tile is for: a tile queued for a worker, or being cut by one, when its clients have gone is not made. */
  client?: ServerResponse;
}

/**
 * The tile cached under `key` (made from `layers`), else the one `atOnce` makes, else the one
 * `produce` makes (told whether `atOnce` was tried), through the disk store when it is `stored`.
 * A tile cached or made at once comes back as is, not in a promise: a caller may answer it in the
 * same turn of the event loop (routes/mvt-anonymous.ts does).
 */
export function tileFor(
  services: Services, key: string, layers: readonly number[], produce: (atOnceTried: boolean, signal?: AbortSignal) => Promise<CachedTile>,
  { stored, bypass = false, atOnce, client }: TileSources = {},
): FoundTile | Promise<FoundTile> {
  const tried = !!atOnce && !bypass;
  const now = tried ? services.tileCache.now(key, layers, atOnce) : undefined;
  return now ?? madeFor(services, key, layers, (signal) => produce(tried, signal), stored, bypass, client);
}

/** The tile from the memory cache, else the disk store when it is `stored`, else the one `produce` makes. */
async function madeFor(
  services: Services, key: string, layers: readonly number[], produce: (signal?: AbortSignal) => Promise<CachedTile>,
  stored: StoredTileAddress | undefined, bypass: boolean, client: ServerResponse | undefined,
): Promise<FoundTile> {
  let storeHit: boolean | undefined;
  // Taken now, with the layers' data the tile is made from: a reload during the awaits ahead makes the write stale.
  const generations = stored && !bypass ? services.tileStore.generations(stored.resources) : [];
  const make = stored && !bypass
    ? (signal?: AbortSignal) => throughStore(services, stored, generations, () => produce(signal), (hit) => { storeHit = hit; }) : produce;
  const { tile, outcome } = await services.tileCache.get(key, layers, make, bypass, client && (() => clientGone(client)));
  return { tile, outcome, storeHit };
}

/** X-Tile-Store's value: whether the disk store had the tile, when it was asked. */
export function storeHeader(found: FoundTile): 'hit' | 'miss' | undefined {
  return found.storeHit === undefined ? undefined : found.storeHit ? 'hit' : 'miss';
}

/** The reply with X-Tile-Store (hit or miss) when the store was asked, and with gzip made if the client wants it. */
export async function completeReply(reply: TileReply, services: Services, key: string, found: FoundTile): Promise<TileReply> {
  const store = storeHeader(found);
  if (store) reply.headers.push('X-Tile-Store', store);
  return reply.gzipMissing ? withGzip(reply, services.tileCache, key, found.tile, found.outcome) : reply;
}

/**
 * Serves the tile found by `tileFor` (an administrator's request with Cache-Control: no-cache bypasses the caches).
 * Sets X-Tile-Cache to hit, miss or bypass, and X-Tile-Store to hit or miss when the store was asked.
 */
export async function sendTile(
  ctx: Context, services: Services, key: string, layers: readonly number[], produce: (atOnceTried: boolean, signal?: AbortSignal) => Promise<CachedTile>,
  sources: Omit<TileSources, 'bypass' | 'client'> = {},
): Promise<void> {
  const found = await tileFor(services, key, layers, produce, { ...sources, bypass: wantsBypass(ctx), client: ctx.res });
  const reply = await completeReply(tileReply(ctx.req, found.tile, found.outcome, services.config.tileCacheControl), services, key, found);
  for (let i = 0; i < reply.headers.length; i += 2) ctx.set(reply.headers[i], reply.headers[i + 1]);
  ctx.status = reply.status;
  if (reply.body) ctx.body = reply.body;
}
