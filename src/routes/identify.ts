// POST/PUT /api/feature_layer/identify (and NGW's older /feature_layer/identify): the features of
// several layers that a shape touches.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ResourceEntry } from '../catalog/types.js';
import { bodyObject, readLargeJson } from '../http/body.js';
import { ApiError } from '../http/errors.js';
import { featureLayerOf, resourceFor } from '../http/resources.js';
import { parseIdentifyRequest } from '../identify/request.js';
import { layerResult, type LayerResult } from '../identify/response.js';
import { poolSearch } from '../identify/offload.js';
import { identifyLayer, type RowSearch } from '../identify/search.js';
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

async function identify(ctx: Context, services: Services, elsewhere: (id: number) => RowSearch): Promise<void> {
  const req = parseIdentifyRequest(bodyObject(ctx));
  // Every layer is checked (404, 422, 503) before any is searched, so a bad id fails fast.
  const targets = await Promise.all(req.layers.map(async (id) => {
    const entry = readable(ctx, services, id, 'data.read');
    return { id, entry, layer: entry && await featureLayerOf(services, entry) };
  }));
  const result: Record<string, LayerResult | number> = {};
  let total = 0;
  for (const { id, entry, layer } of targets) {
    if (!entry || !layer) { result[id] = { error: 'Forbidden' }; continue; }
    const started = performance.now();
    const hits = await identifyLayer(layer, req.area, req.limit, elsewhere(id));
    const parent = entry.parent === null ? null : readable(ctx, services, entry.parent, 'resource.read');
    const layerJson = layerResult(entry, layer.schema, hits, parent?.display_name);
    result[id] = layerJson;
    total += layerJson.featureCount;
    services.log.debug({ id: ctx.state.requestId, layer: id, hits: hits.features.length, cut: hits.cut, ms: performance.now() - started }, 'identify layer');
  }
  result.featureCount = total;
  ctx.body = result;
}

export function identifyRoutes(services: Services): Router {
  const router = new Router();
  const elsewhere = poolSearch(services.pool);
  for (const path of ['/api/feature_layer/identify', '/feature_layer/identify']) {
    router.post(path, readLargeJson, (ctx) => identify(ctx, services, elsewhere));
    router.put(path, readLargeJson, (ctx) => identify(ctx, services, elsewhere));
  }
  return router;
}
