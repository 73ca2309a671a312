// MVT vector tiles: /api/component/feature_layer/mvt (NextGIS Web, several layers per tile) and
// /api/resource/{id}/{z}/{x}/{y}.mvt (single layer, older clients). Same bytes for the same layer.
// The main thread checks, caches and sends; tiling/mvt-tiles.ts makes the tiles. Most tiles asked
// anonymously are answered before Koa, by routes/mvt-anonymous.ts.
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import type { Context } from 'koa';
import type { ResourceEntry } from '../catalog/types.js';
import { badParameter } from '../http/errors.js';
import { optionalInt, optionalNumber, resourceListParam, single } from '../http/params.js';
import { featureLayerOf, resourceFor } from '../http/resources.js';
import { LayerSelection, projectOf, projectVectorLayers } from '../qgis/project-resource.js';
import type { Services } from '../services.js';
import { tileAddress, type TileAddress } from '../tiles/address.js';
import { tileKey } from '../tiles/cache.js';
import { sendTile } from '../tiles/respond.js';
import { DEFAULT_MVT_OPTIONS, isDefaultMvt, mvtCacheParams, type MvtOptions, type MvtTileLayer } from '../tiling/mvt-tiles.js';

function mvtOptions(ctx: Context): MvtOptions {
  const q = (name: string) => single(ctx.query[name] as string | string[] | undefined);
  const extent = optionalInt(q('extent'), 'extent', DEFAULT_MVT_OPTIONS.extent, 256, 65536);
  return {
    extent,
    simplification: optionalNumber(q('simplification'), 'simplification', extent / 512, 0, extent),
    padding: optionalNumber(q('padding'), 'padding', DEFAULT_MVT_OPTIONS.padding, 0, 0.5),
  };
}

/** Two layers of one name in a tile could not be told apart. */
function uniqueNames(layers: MvtTileLayer[]): void {
  const seen = new Set<string>();
  for (const l of layers) {
    if (!('name' in l)) continue;
    if (seen.has(l.name)) throw badParameter('resource', `gives two MVT layers named "${l.name}" (request them apart, or pick one with "layers")`);
    seen.add(l.name);
  }
}

export function mvtRoutes(services: Services): Router {
  const router = apiRouter();

  /** A feature layer gives one MVT layer; a QGIS project one per usable vector layer, named as in QGIS. */
  async function tileLayersOf(entry: ResourceEntry, select: LayerSelection | undefined): Promise<MvtTileLayer[]> {
    if (!services.catalog.classOf(entry).qgisProject) return [{ id: entry.id, layer: await featureLayerOf(services, entry) }];
    return projectVectorLayers(services.log, await projectOf(services, entry), 'tiles', select);
  }

  async function serve(ctx: Context, idTexts: string[], idParam: string, at: TileAddress): Promise<void> {
    const options = mvtOptions(ctx);
    const select = LayerSelection.parse(single(ctx.query.layers as string | string[] | undefined));
    // Every resource is checked (existence, permission, kind) before any work.
    const entries = idTexts.map((id) => resourceFor(ctx, services, id, 'data.read', idParam));
    const tileLayers = (await Promise.all(entries.map((e) => tileLayersOf(e, select)))).flat();
    select?.checkAllMatched();
    uniqueNames(tileLayers);
    const ids = entries.map((e) => e.id);
    const key = tileKey({ format: 'mvt', resources: ids, ...at, params: mvtCacheParams(options, select?.names) });
    // Only tiles with the default parameters go to the disk store (the ones seeding makes).
    const stored = isDefaultMvt(options) && !select ? { format: 'mvt' as const, resources: ids, ...at } : undefined;
    await sendTile(ctx, services, key, ids, (tried, signal) => services.mvtTiles.make(tileLayers, at, options, tried, signal), {
      stored, atOnce: () => services.mvtTiles.atOnce(tileLayers, at, options),
    });
  }

  router.get('feature_layer.mvt', '/api/component/feature_layer/mvt', async (ctx) => {
    const q = (name: string) => single(ctx.query[name] as string | string[] | undefined);
    const ids = resourceListParam(q('resource'));
    await serve(ctx, ids, 'resource', tileAddress(q('z'), q('x'), q('y')));
  });

  router.get('/api/resource/:id/:z/:x/:y.mvt', async (ctx) => {
    await serve(ctx, [ctx.params.id], 'id', tileAddress(ctx.params.z, ctx.params.x, ctx.params.y));
  });

  return router;
}
