// MVT tiles asked anonymously, answered before Koa. They are most of a busy map's requests, and
// Koa's stack (context objects, the middleware chain, the routers) costs several times the answer
// of a cached tile. Only the plain case is taken here: a GET of either MVT URL (routes/mvt.ts) with
// the default parameters, no credentials, no cache bypass, every resource a catalog feature layer
// that is ready and that the guest may read, no plugin filter asking to see such requests and no
// client address denied; and the tile cached, or its layers held in memory (a database layer's
// miss, with its outages to report, is Koa's). A cached tile or one made at once is answered in the
// same turn. Anything else goes on to Koa, which answers the same tile with the same headers: both
// find it with tiles/respond.ts `tileFor` and answer `tileReply`.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Caller } from '../auth/caller.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ResourceEntry } from '../catalog/types.js';
import { SESSION_COOKIE } from '../http/auth.js';
import { ApiError } from '../http/errors.js';
import { logRequest, requestIdOf, serverTiming } from '../http/middleware.js';
import { MAX_RESOURCES } from '../http/params.js';
import type { CountRequest } from '../monitor/count.js';
import type { Services } from '../services.js';
import { MemoryLayer } from '../store/memory-layer.js';
import type { FeatureLayer } from '../store/types.js';
import { tileAddress, type TileAddress } from '../tiles/address.js';
import { tileKey, type CacheOutcome } from '../tiles/cache.js';
import { completeReply, tileFor, tileReply, type FoundTile, type TileReply } from '../tiles/respond.js';
import { DEFAULT_MVT_OPTIONS, mvtCacheParams } from '../tiling/mvt-tiles.js';

const SINGLE_LAYER = /^\/api\/resource\/(\d+)\/(\d+)\/(\d+)\/(\d+)\.mvt$/;
const MULTI_LAYER = '/api/component/feature_layer/mvt';
/** Query parameters that change the tile (routes/mvt.ts): their presence sends the request to Koa. */
const TILE_OPTIONS = new Set(['extent', 'simplification', 'padding', 'layers']);
const RESOURCE_ID = /^\d+$/;

interface CachedTileRequest { path: string; ids: string[]; at: TileAddress }

/** The request listener: anonymous tiles here, everything else to `koa`. */
export function anonymousTilesFirst(services: Services, koa: RequestListener, count?: CountRequest): RequestListener {
  const { plugins, log, catalog, tileCache, auth, mvtTiles } = services;
  if (plugins.filteringAnonymousTiles.length) {
    log.info({ plugins: plugins.filteringAnonymousTiles }, 'anonymous tiles go through Koa: plugin filters ask to see them');
    return koa;
  }
  const denylist = services.config.monitor ? services.monitor.keyvals.get('denylist') : undefined;
  const params = mvtCacheParams(DEFAULT_MVT_OPTIONS);
  const cacheControl = services.config.tileCacheControl;
  const failed = (err: unknown) => log.error({ err }, 'tile not answered');

  return (req, res) => {
    const started = performance.now();
    // A guest's Cache-Control: no-cache is not honoured (see wantsBypass): it is served here too.
    if (req.method !== 'GET' || req.headers.authorization !== undefined || req.headers.cookie?.includes(SESSION_COOKIE)
      || denylist?.entries.size) return koa(req, res);
    const asked = parse(req.url ?? '');
    const guest = auth.authenticator.knownGuest();
    const layers = asked && guest && readableLayers(catalog, asked.ids, (entry) => mayRead(services, guest, entry));
    if (!layers) return koa(req, res);
    const ids = layers.map((l) => l.id);
    const key = tileKey({ format: 'mvt', resources: ids, ...asked.at, params });
    const answer = (found: FoundTile) => {
      const reply = tileReply(req, found.tile, found.outcome, cacheControl);
      if (!reply.gzipMissing && found.storeHit === undefined) return send(req, res, reply, found.outcome, asked.path, started);
      // Should gzip fail, Koa answers (and logs) the error.
      completeReply(reply, services, key, found).then((r) => send(req, res, r, found.outcome, asked.path, started), () => koa(req, res)).catch(failed);
    };
    if (!layers.every((l) => l.layer instanceof MemoryLayer)) {
      const cached = tileCache.hit(key);
      return cached ? answer({ tile: cached, outcome: 'hit' }) : koa(req, res);
    }
    const found = tileFor(services, key, ids, (tried, signal) => mvtTiles.make(layers, asked.at, DEFAULT_MVT_OPTIONS, tried, signal), {
      stored: { format: 'mvt', resources: ids, ...asked.at }, atOnce: () => mvtTiles.atOnce(layers, asked.at), client: res,
    });
    // Cached, or made at once (a main-thread cut): answered in this turn, no promise on the way.
    if (!(found instanceof Promise)) return answer(found);
    // A tile that could not be made (a worker lost): Koa tries again and answers the error. One
    // dropped because its client left (see TileSources.client) is counted and logged as gone.
    found.then(answer, (err: unknown) => (res.destroyed ? gone(req, res, asked.path, started, err) : koa(req, res))).catch(failed);
  };

  function gone(req: IncomingMessage, res: ServerResponse, path: string, started: number, err: unknown): void {
    if (!(err instanceof ApiError && err.status === 499)) log.warn({ err, path }, 'tile not made for a client that has gone');
    count?.(req, res, path, started)(0, undefined, false);
    logRequest(log, requestIdOf(req.headers['x-request-id'] as string | undefined), 'GET', path, 499, 0, started);
  }

  /**
   * Writes the reply in one go (the header block as one array: nothing is read back), then counts
   * and logs it: the whole of it is with the connection by then, so no 'close' listener is needed
   * (one costs more than the rest of a cached tile's answer).
   */
  function send(req: IncomingMessage, res: ServerResponse, reply: TileReply, outcome: CacheOutcome, path: string, started: number): void {
    const counted = count?.(req, res, path, started);
    const id = requestIdOf(req.headers['x-request-id'] as string | undefined);
    const headers = ['X-Request-Id', id, ...reply.headers];
    const bytes = reply.body?.length ?? 0;
    if (reply.body) headers.push('Content-Length', String(bytes));
    headers.push('Server-Timing', serverTiming(started));
    // A client gone before its answer (a tile from the pool takes a while) is a discard, as nginx counts one.
    const answered = !res.destroyed;
    res.writeHead(reply.status, headers).end(reply.body);
    counted?.(answered ? bytes : 0, outcome, answered);
    logRequest(log, id, 'GET', path, answered ? reply.status : 499, answered ? bytes : 0, started);
  }
}

/** Asked as the Koa route asks (resourceFor), so both decide alike; a refusal is Koa's to answer. */
function mayRead(services: Services, caller: Caller, entry: ResourceEntry): boolean {
  try {
    services.authorize(caller, entry, 'data.read');
    return true;
  } catch {
    return false;
  }
}

/** The resources and address of a tile URL with default parameters, else undefined. */
function parse(url: string): CachedTileRequest | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  // Most tile URLs carry no query: nothing to parse then.
  const query = q < 0 ? undefined : new URLSearchParams(url.slice(q + 1));
  if (query) for (const name of query.keys()) if (TILE_OPTIONS.has(name)) return undefined;
  try {
    const single = SINGLE_LAYER.exec(path);
    if (single) return { path, ids: [single[1]], at: tileAddress(single[2], single[3], single[4]) };
    if (path !== MULTI_LAYER || !query) return undefined;
    // A parameter given twice is Koa's to read (it takes the last).
    const once = (name: string) => { const all = query.getAll(name); return all.length === 1 ? all[0] : undefined; };
    const resource = once('resource');
    return resource ? { path, ids: resource.split(','), at: tileAddress(once('z'), once('x'), once('y')) } : undefined;
  } catch {
    return undefined; // a bad address: Koa names the parameter
  }
}

/** The catalog layers of the ids, if each is a ready feature layer the caller may read (and none is named twice). */
function readableLayers(catalog: Catalog, ids: string[], mayRead: (entry: ResourceEntry) => boolean): { id: number; layer: FeatureLayer }[] | undefined {
  if (ids.length > MAX_RESOURCES) return undefined;
  const layers: { id: number; layer: FeatureLayer }[] = [];
  for (const text of ids) {
    const entry = RESOURCE_ID.test(text) ? catalog.get(Number(text)) : undefined;
    const cls = entry && catalog.classOf(entry);
    const state = entry && catalog.layerState(entry.id);
    if (!cls?.featureLayer || cls.qgisProject || state?.status !== 'ready' || !mayRead(entry!)) return undefined;
    layers.push({ id: entry!.id, layer: state.layer });
  }
  // One named twice, alike or not ("2,2", "2,02"), is Koa's 400.
  return layers.length > 1 && new Set(layers.map((l) => l.id)).size !== layers.length ? undefined : layers;
}
