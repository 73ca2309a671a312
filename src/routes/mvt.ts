// MVT vector tiles: /api/component/feature_layer/mvt (NextGIS Web, several layers per tile) and
// /api/resource/{id}/{z}/{x}/{y}.mvt (single layer, older clients). Same bytes for the same layer.
// The main thread checks, caches and sends; workers cut and encode (see tiling/).
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ResourceEntry } from '../catalog/types.js';
import { badParameter } from '../http/errors.js';
import { intParam, optionalInt, optionalNumber, single } from '../http/params.js';
import { featureLayerOf, resourceFor } from '../http/resources.js';
import { LayerSelection, projectLayerRef, projectOf, projectVectorLayers } from '../qgis/project-resource.js';
import type { Services } from '../services.js';
import type { FeatureLayer } from '../store/types.js';
import { tileKey, type CachedTile } from '../tiles/cache.js';
import { sendTile } from '../tiles/respond.js';
import { MvtLayers, TILE_TASK, layerKey, type LayerRef } from '../tiling/layers.js';
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

/** One MVT layer of a tile: its name in the tile and the data it is cut from. */
interface TileLayer { name: string; ref: LayerRef; layer: FeatureLayer }

function uniqueNames(tileLayers: TileLayer[]): void {
  const seen = new Set<string>();
  for (const { name } of tileLayers) {
    if (seen.has(name)) throw badParameter('resource', `gives two MVT layers named "${name}" (request them apart, or pick one with "layers")`);
    seen.add(name);
  }
}

export function mvtRoutes(services: Services): Router {
  const router = new Router();
  const layers = new MvtLayers(services.pool, services.log);
  services.catalog.onLayerChange((id) => layers.changed(id, services.catalog.layerState(id)));
  services.projects.onChange((_, previous) => previous?.project.layers.forEach((l) => layers.forget(projectLayerRef(previous, l))));

  /** A feature layer gives one MVT layer; a QGIS project one per usable vector layer, named as in QGIS. */
  async function tileLayersOf(entry: ResourceEntry, select: LayerSelection | undefined): Promise<TileLayer[]> {
    if (!services.catalog.classOf(entry).qgisProject) return [{ name: `ngw:${entry.id}`, ref: entry.id, layer: await featureLayerOf(services, entry) }];
    const project = await projectOf(services, entry);
    return projectVectorLayers(services, project, 'tiles', select);
  }

  async function serve(ctx: Context, idTexts: string[], idParam: string, at: TileAddress): Promise<void> {
    const q = (name: string) => single(ctx.query[name] as string | string[] | undefined);
    const extent = optionalInt(q('extent'), 'extent', DEFAULT_EXTENT, 256, 65536);
    const simplification = optionalNumber(q('simplification'), 'simplification', extent / 512, 0, extent);
    const padding = optionalNumber(q('padding'), 'padding', DEFAULT_PADDING, 0, 0.5);
    const select = LayerSelection.parse(q('layers'));
    // Every resource is checked (existence, permission, kind) before any work.
    const entries = idTexts.map((id) => resourceFor(ctx, services, id, 'data.read', idParam));
    const tileLayers = (await Promise.all(entries.map((e) => tileLayersOf(e, select)))).flat();
    select?.checkAllMatched();
    uniqueNames(tileLayers);
    const ids = entries.map((e) => e.id);
    const sources = tileLayers.map((l) => layers.source(l.ref, l.layer));
    const request: TileRequest = {
      ...at, extent, simplification, padding,
      layers: tileLayers.map((l) => ({ key: layerKey(l.ref), name: l.name })),
    };
    const params = `${extent}/${simplification}/${padding}${select ? `/layers=${select.names.join(',')}` : ''}`;
    const key = tileKey({ format: 'mvt', resources: ids, ...at, params });
    // Only tiles with the default parameters go to the disk store (the ones seeding makes).
    const stored = params === DEFAULT_PARAMS ? { format: 'mvt' as const, resources: ids, ...at } : undefined;
    await sendTile(ctx, services, key, ids, async () => {
      if (!tileLayers.some((l) => layers.mayHaveFeatures(l.layer, at.z, at.x, at.y, padding))) return mvtTile({ body: null, etag: null });
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
