// POST/PUT /api/feature_layer/identify (and NGW's older /feature_layer/identify): the features of
// several layers that a shape touches.
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import type { Context } from 'koa';
import type { ResourceEntry } from '../catalog/types.js';
import { bodyObject, readLargeJson } from '../http/body.js';
import { clientGone } from '../http/client-gone.js';
import { ApiError } from '../http/errors.js';
import { resourceFor } from '../http/resources.js';
import { parseIdentifyRequest } from '../identify/request.js';
import { layerResult, mergedResult, type LayerResult } from '../identify/response.js';
import { poolSearch, poolShapes } from '../identify/offload.js';
import { identifyLayer, type RowSearch } from '../identify/search.js';
import { identifySources } from '../identify/sources.js';
import type { LayerRef } from '../tiling/layers.js';
import type { Services } from '../services.js';

const isDenied = (e: unknown) => e instanceof ApiError && (e.status === 401 || e.status === 403);

/** The entry when the caller may read its data; null when not (NGW answers "Forbidden" for that layer only). */
function readable(ctx: Context, services: Services, id: number, permission: 'data.read' | 'resource.read'): ResourceEntry | null {
  try {
    return resourceFor(ctx, services, String(id), permission, 'layers');
  } catch (e) {
    if (isDenied(e)) return null;
    throw e;
  }
}

type AreaOf = ReturnType<typeof poolShapes>;

async function identify(ctx: Context, services: Services, areaOf: AreaOf, elsewhere: (ref: LayerRef) => RowSearch): Promise<void> {
  const req = parseIdentifyRequest(bodyObject(ctx));
  const gone = clientGone(ctx.res);
  const area = await areaOf(req.shape, gone);
  // Every layer is checked (404, 422, 503) before any is searched, so a bad id fails fast.
  const targets = await Promise.all(req.layers.map(async (id) => {
    const entry = readable(ctx, services, id, 'data.read');
    return { id, entry, sources: entry && await identifySources(services, entry) };
  }));
  const result: Record<string, LayerResult | number> = {};
  let total = 0;
  for (const { id, entry, sources } of targets) {
    if (!entry || !sources) { result[id] = { error: 'Forbidden' }; continue; }
    const parent = entry.parent === null ? null : readable(ctx, services, entry.parent, 'resource.read');
    const parts = [];
    for (const source of sources) {
      const started = performance.now();
      const hits = await identifyLayer(source.layer, area, req.limit, elsewhere(source.ref), gone);
      parts.push(layerResult(entry, source, hits, parent?.display_name));
      services.log.debug({ id: ctx.state.requestId, layer: source.ref, hits: hits.features.length, cut: hits.cut, ms: performance.now() - started }, 'identify layer');
    }
    const layerJson = mergedResult(parts);
    result[id] = layerJson;
    total += layerJson.featureCount;
  }
  result.featureCount = total;
  ctx.body = result;
}

export function identifyRoutes(services: Services): Router {
  const router = apiRouter();
  const areaOf = poolShapes(services.pool);
  const elsewhere = poolSearch(services.pool);
  const handle = (ctx: Context) => identify(ctx, services, areaOf, elsewhere);
  router.post('feature_layer.identify', '/api/feature_layer/identify', readLargeJson, handle);
  router.put('feature_layer.identify', '/api/feature_layer/identify', readLargeJson, handle);
  // NGW's older path, without a name of its own.
  router.post('/feature_layer/identify', readLargeJson, handle);
  router.put('/feature_layer/identify', readLargeJson, handle);
  return router;
}
