// MVT vector tiles: /api/component/feature_layer/mvt (NextGIS Web, several layers per tile) and
// /api/resource/{id}/{z}/{x}/{y}.mvt (single layer, older clients). Same bytes for the same layer.
// The main thread checks, caches and sends; workers cut and encode (see tiling/).
import Router from '@koa/router';
import type { Context } from 'koa';
import { badParameter } from '../http/errors.js';
import { intParam, optionalInt, optionalNumber, single } from '../http/params.js';
import { featureLayerOf, resourceFor } from '../http/resources.js';
import type { Services } from '../services.js';
import { tileKey, type CachedTile } from '../tiles/cache.js';
import { sendTile } from '../tiles/respond.js';
import { MvtLayers, TILE_TASK, layerKey } from '../tiling/layers.js';
import type { TileAnswer, TileRequest } from '../tiling/tile-task.js';

export const MVT_CONTENT_TYPE = 'application/vnd.mapbox-vector-tile';
const MAX_ZOOM = 24;
const MAX_RESOURCES = 64;
const DEFAULT_EXTENT = 4096;
const DEFAULT_PADDING = 0.05;
const DEFAULT_PARAMS = `${DEFAULT_EXTENT}/${DEFAULT_EXTENT / 512}/${DEFAULT_PADDING}`;

function mvtTile({ body, etag }: TileAnswer): CachedTile {
  return {
    body: body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Buffer.alloc(0),
    etag: etag ?? '""', contentType: MVT_CONTENT_TYPE,
  };
}

interface TileAddress { z: number; x: number; y: number }

function tileAddress(z: unknown, x: unknown, y: unknown): TileAddress {
  const zoom = intParam(z, 'z', 0, MAX_ZOOM);
  const last = 2 ** zoom - 1;
  return { z: zoom, x: intParam(x, 'x', 0, last), y: intParam(y, 'y', 0, last) };
}

function resourceIds(value: string | undefined): string[] {
  if (!value) throw badParameter('resource', 'is required');
  const ids = value.split(',').map((s) => s.trim());
  if (ids.length > MAX_RESOURCES) throw badParameter('resource', `lists more than ${MAX_RESOURCES} resources`);
  if (new Set(ids).size !== ids.length) throw badParameter('resource', 'lists a resource twice (layer names must be unique)');
  return ids;
}

export function mvtRoutes(services: Services): Router {
  const router = new Router();
  const layers = new MvtLayers(services.pool, services.log);
  services.catalog.onLayerChange((id) => layers.changed(id, services.catalog.layerState(id)));

  async function serve(ctx: Context, idTexts: string[], idParam: string, at: TileAddress): Promise<void> {
    const q = (name: string) => single(ctx.query[name] as string | string[] | undefined);
    const extent = optionalInt(q('extent'), 'extent', DEFAULT_EXTENT, 256, 65536);
    const simplification = optionalNumber(q('simplification'), 'simplification', extent / 512, 0, extent);
    const padding = optionalNumber(q('padding'), 'padding', DEFAULT_PADDING, 0, 0.5);
    // Every resource is checked (existence, permission, kind) before any work.
    const entries = idTexts.map((id) => resourceFor(ctx, services, id, 'data.read', idParam));
    const featureLayers = await Promise.all(entries.map((e) => featureLayerOf(services, e)));
    const ids = entries.map((e) => e.id);
    const sources = ids.map((id, i) => layers.source(id, featureLayers[i]));
    const request: TileRequest = {
      ...at, extent, simplification, padding,
      layers: ids.map((id) => ({ key: layerKey(id), name: `ngw:${id}` })),
    };
    const params = `${extent}/${simplification}/${padding}`;
    const key = tileKey({ format: 'mvt', resources: ids, ...at, params });
    // Only tiles with the default parameters go to the disk store (the ones seeding makes).
    const stored = params === DEFAULT_PARAMS ? { format: 'mvt' as const, resources: ids, ...at } : undefined;
    await sendTile(ctx, services, key, ids, async () => {
      if (!featureLayers.some((l) => layers.mayHaveFeatures(l, at.z, at.x, at.y, padding))) return mvtTile({ body: null, etag: null });
      return mvtTile(await services.pool.run<TileAnswer>(TILE_TASK, request, { layers: sources }));
    }, stored);
  }

  router.get('/api/component/feature_layer/mvt', async (ctx) => {
    const q = (name: string) => single(ctx.query[name] as string | string[] | undefined);
    const ids = resourceIds(q('resource'));
    await serve(ctx, ids, 'resource', tileAddress(q('z'), q('x'), q('y')));
  });

  router.get('/api/resource/:id/:z/:x/:y.mvt', async (ctx) => {
    await serve(ctx, [ctx.params.id], 'id', tileAddress(ctx.params.z, ctx.params.x, ctx.params.y));
  });

  return router;
}
