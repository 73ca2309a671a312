// Making MVT tiles of feature layers, for the tile endpoints and for seeding: a probe of the index
// answers empty tiles on the main thread; the rest are cut and encoded in the worker pool, except
// PostGIS layers from SQL_MVT_MIN_ZOOM on, which PostGIS makes.
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { WorkerPool } from '../pool/pool.js';
import type { BBox, FeatureLayer } from '../store/types.js';
import { windowOf } from '../store/window.js';
import { PostgisLayer } from '../store/postgis/postgis-layer.js';
import type { TileAddress } from '../tiles/address.js';
import type { CachedTile } from '../tiles/cache.js';
import { tileEtag } from '../tiles/store.js';
import { MvtLayers, TILE_TASK, layerKey, type LayerRef } from './layers.js';
import { searchBoxes } from './project.js';
import type { TileAnswer, TileRequest } from './tile-task.js';

export const MVT_CONTENT_TYPE = 'application/vnd.mapbox-vector-tile';

/**
 * From this zoom on, PostGIS makes the tiles of a postgis_layer (ST_AsMVT): npm run bench:mvt has it
 * tens of times faster there than reading the features out and cutting them here. Below it a tile
 * covers so much of a layer that ST_AsMVTGeom can run for minutes on large polygons (the bench cannot
 * finish those), so the features are read out and cut like a file's.
 */
export const SQL_MVT_MIN_ZOOM = 6;

/** NextGIS Web's tile parameters: extent in tile units, simplification in tile units, padding as a share of the tile. */
export interface MvtOptions {
  extent: number;
  simplification: number;
  padding: number;
}

export const DEFAULT_MVT_OPTIONS: Readonly<MvtOptions> = { extent: 4096, simplification: 4096 / 512, padding: 0.05 };

export const isDefaultMvt = (o: MvtOptions) =>
  o.extent === DEFAULT_MVT_OPTIONS.extent && o.simplification === DEFAULT_MVT_OPTIONS.simplification && o.padding === DEFAULT_MVT_OPTIONS.padding;

/** The options (and the project layers picked, if any) as the memory cache keys them. */
export const mvtCacheParams = (o: MvtOptions, layers?: readonly string[]) =>
  `${o.extent}/${o.simplification}/${o.padding}${layers ? `/layers=${layers.join(',')}` : ''}`;

/** One MVT layer of a tile and its data. */
export type MvtTileLayer =
  /** A catalog layer: its resource id (its MVT layer is named `ngw:{id}`, as NextGIS Web names them). */
  | { id: number; layer: FeatureLayer }
  /** A QGIS project's layer: its pool ref (see qgis/project-resource.ts) and its MVT layer name. */
  | { ref: string; name: string; layer: FeatureLayer };

const refOf = (l: MvtTileLayer): LayerRef => ('id' in l ? l.id : l.ref);
const nameOf = (l: MvtTileLayer) => ('id' in l ? `ngw:${l.id}` : l.name);

export class MvtTiles {
  private readonly layers: MvtLayers;

  constructor(private readonly pool: WorkerPool, log: Logger, catalog: Catalog) {
    this.layers = new MvtLayers(pool, log);
    catalog.onLayerChange((id) => this.layers.changed(id, catalog.layerState(id)));
  }

  /** The tile holding one MVT layer per entry of `layers`, in order; an empty body when no feature is in it. */
  async make(layers: readonly MvtTileLayer[], at: TileAddress, options: MvtOptions = DEFAULT_MVT_OPTIONS): Promise<CachedTile> {
    const bySql = (layer: FeatureLayer): layer is PostgisLayer => layer instanceof PostgisLayer && at.z >= SQL_MVT_MIN_ZOOM;
    if (!layers.some(({ layer }) => bySql(layer))) return mvtTile(await this.cut(layers, at, options));
    // Layer by layer, in order: a tile's bytes are its layers' messages back to back.
    const parts = await Promise.all(layers.map(async (l) => (bySql(l.layer)
      ? l.layer.mvtLayer(nameOf(l), at.z, at.x, at.y, options.extent, options.padding)
      : mvtTile(await this.cut([l], at, options)).body)));
    const body = Buffer.concat(parts);
    return { body, etag: tileEtag(body), contentType: MVT_CONTENT_TYPE };
  }

  /** Cuts and encodes the layers in the worker pool (a database layer's window around the tile first). */
  private async cut(layers: readonly MvtTileLayer[], at: TileAddress, options: MvtOptions): Promise<TileAnswer> {
    const boxes = tileBoxes(at, options.padding);
    const held = await Promise.all(layers.map((l) => windowOf(l.layer, boxes)));
    if (!held.some((layer) => this.layers.mayHaveFeatures(layer, at.z, at.x, at.y, options.padding))) return { body: null, etag: null };
    const sources = held.map((layer, i) => this.layers.source(refOf(layers[i]), layer));
    const request: TileRequest = {
      ...at, ...options,
      layers: layers.map((l) => ({ key: layerKey(refOf(l)), name: nameOf(l) })),
    };
    return this.pool.run<TileAnswer>(TILE_TASK, request, { layers: sources });
  }

  /** Workers drop what they hold for a layer that is gone (an evicted or replaced project's). */
  forget(ref: LayerRef): void {
    this.layers.forget(ref);
  }
}

/** The EPSG:4326 boxes whose features may show in tile `at` (more than one next to the antimeridian). */
function tileBoxes(at: TileAddress, padding: number): BBox[] {
  const lon = (v: number) => Math.max(-180, Math.min(180, v));
  return searchBoxes(at.z, at.x, at.y, padding, -180, 180).map((b) => [lon(b.minLon), b.minLat, lon(b.maxLon), b.maxLat]);
}

function mvtTile({ body, etag }: TileAnswer): CachedTile {
  return {
    body: body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Buffer.alloc(0),
    etag: etag ?? '""', contentType: MVT_CONTENT_TYPE,
  };
}
