// /api/resource/{id}/feature/, /feature/{fid}, /feature_count, /extent (NextGIS Web feature API; /extent of raster layers too).
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import type { Context } from 'koa';
import { clientGone } from '../http/client-gone.js';
import { ApiError, badParameter } from '../http/errors.js';
import { attributeFilter, orderByParam } from '../http/feature-filter.js';
import { extensionsParam, featureJson, intersectsArea, outputProjector, type DateFormat } from '../http/features.js';
import { boolParam, fieldsParam, intParam, optionalInt, single, srsParam } from '../http/params.js';
import { featureLayerOf, resourceFor } from '../http/resources.js';
import { jsonArray, streamedBody } from '../http/streaming.js';
import type { Services } from '../services.js';
import type { FeatureLayer } from '../store/types.js';

/** NGW stores vector layers in Web Mercator; its feature API answers in it unless told otherwise. */
const LAYER_SRS = 3857;

function q(ctx: Context, name: string): string | undefined {
  return single(ctx.query[name] as string | string[] | undefined);
}

function dateFormat(ctx: Context): DateFormat {
  const v = q(ctx, 'dt_format') ?? 'obj';
  if (v !== 'obj' && v !== 'iso') throw badParameter('dt_format', 'must be obj or iso');
  return v;
}

async function layerOf(services: Services, ctx: Context): Promise<FeatureLayer> {
  return featureLayerOf(services, resourceFor(ctx, services, ctx.params.id, 'data.read'));
}

export function featureRoutes(services: Services): Router {
  const router = apiRouter();

  router.get('feature_layer.feature.collection', '/api/resource/:id/feature/', async (ctx) => {
    // The caller may read the data before anything of the query is read: a filter would tell values.
    const layer = await layerOf(services, ctx);
    const srs = srsParam(q(ctx, 'srs'), LAYER_SRS);
    const known = layer.schema.fields.map((f) => f.keyname);
    const wanted = fieldsParam(q(ctx, 'fields'), known);
    const fields = layer.schema.fields.filter((f) => wanted.includes(f.keyname));
    // Any page size, as NGW takes it: the answer is streamed, so a large one costs no more than none
    // (every feature, which GDAL asks for unless told a page size).
    const limitText = q(ctx, 'limit');
    const limit = limitText === undefined || limitText === '' ? undefined : intParam(limitText, 'limit', 0);
    const offset = optionalInt(q(ctx, 'offset'), 'offset', 0, 0);
    const area = intersectsArea(q(ctx, 'intersects'), srs);
    const filter = attributeFilter(ctx.query, layer.schema.fields);
    const orderBy = orderByParam(q(ctx, 'order_by'), layer.schema.fields);
    const opts = { geom: boolParam(q(ctx, 'geom'), 'geom', true), dates: dateFormat(ctx), extensions: extensionsParam(q(ctx, 'extensions')) };
    const project = outputProjector(srs);
    const features = layer.features({ area, filter, orderBy, limit, offset, geometry: opts.geom, signal: clientGone(ctx.res) });
    ctx.type = 'application/json';
    ctx.body = await streamedBody(features, jsonArray(features, (f) => featureJson(f, fields, project, opts)), services.config.streamStallTimeoutMs);
  });

  router.get('feature_layer.feature.item', '/api/resource/:id/feature/:fid', async (ctx) => {
    const layer = await layerOf(services, ctx);
    const fid = intParam(ctx.params.fid, 'fid'); // any integer, as NGW's {fid:int}: a table may number from 0 or below
    const feature = await layer.feature(fid);
    if (!feature) throw new ApiError(404, 'FEATURE_NOT_FOUND', `Feature ${fid} not found in resource ${ctx.params.id}.`, 'Feature not found');
    const srs = srsParam(q(ctx, 'srs'), LAYER_SRS);
    ctx.body = featureJson(feature, layer.schema.fields, outputProjector(srs), {
      geom: boolParam(q(ctx, 'geom'), 'geom', true), dates: dateFormat(ctx), extensions: extensionsParam(q(ctx, 'extensions')),
    });
  });

  router.get('feature_layer.feature.count', '/api/resource/:id/feature_count', async (ctx) => {
    ctx.body = { total_count: await (await layerOf(services, ctx)).count() };
  });

  // Any layer with a box (NGW's IBboxLayer): a feature layer's features, a raster layer's GeoTIFF.
  router.get('layer.extent', '/api/resource/:id/extent', async (ctx) => {
    const entry = resourceFor(ctx, services, ctx.params.id, 'data.read');
    const e = services.catalog.classOf(entry).rasterLayer
      ? await services.renderer.rasterExtent(entry)
      : await (await featureLayerOf(services, entry)).extent();
    ctx.body = { extent: e ? { minLon: e[0], minLat: e[1], maxLon: e[2], maxLat: e[3] } : { minLon: null, minLat: null, maxLon: null, maxLat: null } };
  });

  return router;
}
