// Making MVT tiles of feature layers, for the tile endpoints and for seeding. On the main thread:
// a probe of the index answers empty tiles, z0–z5 tiles come cut from the layer's preparation, and
// tiles that keep few vertices (tens of microseconds of work, less than a worker trip) are cut at
// once; the rest are cut and encoded in the worker pool, except PostGIS layers from
// SQL_MVT_MIN_ZOOM on, which PostGIS makes. A tile made on the main thread from layers held in
// memory is marked `cheap`: the live path does not write it to the disk store (see tiles/respond.ts).
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { WorkerPool } from '../pool/pool.js';
import type { BBox, FeatureLayer } from '../store/types.js';
import { windowOf } from '../store/window.js';
import { PostgisLayer } from '../store/postgis/postgis-layer.js';
import type { TileAddress } from '../tiles/address.js';
import type { CachedTile } from '../tiles/cache.js';
import { MemoryLayer } from '../store/memory-layer.js';
import { tileEtag } from '../tiles/etag.js';
import { MvtLayers, TILE_TASK, layerKey, type LayerRef, type LowZoomPlan, type Prepared } from './layers.js';
import { searchBoxes } from './project.js';
import { cutTile, type TileAnswer, type TileRequest } from './tile-task.js';
import { warmUpMainThread } from './warm-up.js';

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

/** The MVT layer name of resource `id`, as NextGIS Web names them. */
export const mvtLayerName = (id: number) => `ngw:${id}`;

/**
 * Tiles cut when a catalog layer is prepared (low-zoom.ts): z0–z5, as geojson-vt pre-cuts (its
 * indexMaxZoom), in at most a quarter of the layer's coordinate bytes and 64 MB.
 */
const LOW_ZOOM_MAX = 5;
const lowZoomBytes = (layer: MemoryLayer) => Math.min(64 * 2 ** 20, layer.geometry.coords.byteLength / 4);

/** A project layer's MVT name is its request's, so only catalog layers are cut ahead. */
export const lowZoomPlan: LowZoomPlan = (ref, layer) => ({
  name: typeof ref === 'number' ? mvtLayerName(ref) : String(ref), params: DEFAULT_MVT_OPTIONS,
  maxZoom: typeof ref === 'number' ? LOW_ZOOM_MAX : -1, maxBytes: lowZoomBytes(layer),
});

/**
 * Most work (vertices kept plus features drawn, see tiling/tile.ts) of a tile cut on the main thread:
 * some 20–50 µs, less than a trip to a worker. Also the most features near a tile for trying it
 * there. A tile that passes it on the way goes to a worker: a high-zoom tile on a large polygon
 * (a country's coast) keeps few of the polygon's vertices, which no count of the index could tell.
 */
const MAIN_THREAD_WORK = 1024;

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
const nameOf = (l: MvtTileLayer) => ('id' in l ? mvtLayerName(l.id) : l.name);

export class MvtTiles {
  private readonly layers: MvtLayers;

  constructor(private readonly pool: WorkerPool, log: Logger, catalog: Catalog) {
    this.layers = new MvtLayers(pool, log, (ref, layer) => {
      const plan = lowZoomPlan(ref, layer);
      // A layer not held in memory (a database's) is prepared one window at a time, each holding
      // one tile's features: nothing to cut ahead.
      const state = typeof ref === 'number' ? catalog.layerState(ref) : undefined;
      return state?.status === 'ready' && !(state.layer instanceof MemoryLayer) ? { ...plan, maxZoom: -1 } : plan;
    }, (data, lowZoom, params) => warmUpMainThread(data, lowZoom, params, MAIN_THREAD_WORK));
    catalog.onLayerChange((id) => this.layers.changed(id, catalog.layerState(id)));
  }

  /**
   * The tile holding one MVT layer per entry of `layers`, in order; an empty body when no feature is
   * in it. With `atOnceTried` (the caller asked `atOnce` first) the main thread does not try again:
   * the tile goes to a worker (so does a tile asked before its layers' preparation ended). Once
   * `signal` aborts, a task queued is dropped, a task running stopped and a database query cancelled.
   */
  async make(
    layers: readonly MvtTileLayer[], at: TileAddress, options: MvtOptions = DEFAULT_MVT_OPTIONS, atOnceTried = false, signal?: AbortSignal,
  ): Promise<CachedTile> {
    const bySql = (layer: FeatureLayer): layer is PostgisLayer => layer instanceof PostgisLayer && at.z >= SQL_MVT_MIN_ZOOM;
    if (!layers.some(({ layer }) => bySql(layer))) return mvtTile(await this.cut(layers, at, options, atOnceTried, signal));
    // Layer by layer, in order: a tile's bytes are its layers' messages back to back.
    const parts = await Promise.all(layers.map(async (l) => (bySql(l.layer)
      ? l.layer.mvtLayer(nameOf(l), at.z, at.x, at.y, options.extent, options.padding, signal)
      : mvtTile(await this.cut([l], at, options, atOnceTried, signal)).body)));
    const body = Buffer.concat(parts);
    return { body, etag: tileEtag(body), contentType: MVT_CONTENT_TYPE };
  }

  /**
   * The tile, when the main thread makes it at once with no promise on the way: layers held in
   * memory and prepared, and the tile empty, pre-cut or a small cut (see the head of this file).
   * Otherwise undefined (then `make`).
   */
  atOnce(layers: readonly MvtTileLayer[], at: TileAddress, options: MvtOptions = DEFAULT_MVT_OPTIONS): CachedTile | undefined {
    if (!layers.every(({ layer }) => layer instanceof MemoryLayer)) return undefined;
    const held = layers.map(({ layer }) => layer as MemoryLayer);
    const prepared: Prepared[] = [];
    for (let i = 0; i < held.length; i++) {
      const p = this.layers.preparedNow(held[i]);
      if (!p) return undefined;
      prepared.push(p);
    }
    const near = this.layers.featuresNear(held, at.z, at.x, at.y, options.padding, MAIN_THREAD_WORK);
    const made = near === 0 ? { body: null, etag: null } : this.onMainThread(layers, prepared, at, options, near);
    return made && mvtTile({ ...made, cheap: true });
  }

  /** Cuts and encodes the layers (a database layer's window around the tile read first). */
  private async cut(layers: readonly MvtTileLayer[], at: TileAddress, options: MvtOptions, atOnceTried: boolean, signal?: AbortSignal): Promise<CutAnswer> {
    // A window costs a database query: a tile made from one is never cheap.
    const inMemory = layers.every(({ layer }) => layer instanceof MemoryLayer);
    let held: MemoryLayer[];
    if (inMemory) held = layers.map(({ layer }) => layer as MemoryLayer);
    else {
      const boxes = tileBoxes(at, options.padding);
      held = await Promise.all(layers.map((l) => windowOf(l.layer, boxes, signal)));
    }
    const near = this.layers.featuresNear(held, at.z, at.x, at.y, options.padding, MAIN_THREAD_WORK);
    if (near === 0) return { body: null, etag: null, cheap: inMemory };
    if (!(inMemory && atOnceTried)) {
      const prepared = await Promise.all(layers.map((l, i) => this.layers.prepared(refOf(l), held[i])));
      const made = this.onMainThread(layers, prepared, at, options, near);
      if (made) return { ...made, cheap: inMemory };
    }
    const sources = held.map((layer, i) => this.layers.source(refOf(layers[i]), layer));
    return { ...(await this.pool.run<TileAnswer>(TILE_TASK, tileRequest(layers, at, options), { layers: sources, signal })), cheap: false };
  }

  /**
   * The tile as the main thread makes it from the layers' preparation, `near` features near it:
   * pre-cut (a single layer's z0–z5 with the default parameters), or cut within the work budget;
   * undefined when it is a worker's.
   */
  private onMainThread(layers: readonly MvtTileLayer[], prepared: Prepared[], at: TileAddress, options: MvtOptions, near: number): TileAnswer | undefined {
    if (layers.length === 1 && at.z <= LOW_ZOOM_MAX && isDefaultMvt(options)) {
      const low = prepared[0].lowZoom.tile(nameOf(layers[0]), at.z, at.x, at.y);
      if (low !== undefined) return low ?? { body: null, etag: null };
    }
    if (near > MAIN_THREAD_WORK) return undefined;
    const request = tileRequest(layers, at, options);
    return cutTile(request, (key) => prepared[request.layers.findIndex((l) => l.key === key)].data, MAIN_THREAD_WORK);
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

function tileRequest(layers: readonly MvtTileLayer[], at: TileAddress, options: MvtOptions): TileRequest {
  return { ...at, ...options, layers: layers.map((l) => ({ key: layerKey(refOf(l)), name: nameOf(l) })) };
}

/** A cut tile, and whether it was made on the main thread in microseconds (see CachedTile.cheap). */
type CutAnswer = TileAnswer & { cheap: boolean };

function mvtTile({ body, etag, cheap }: CutAnswer): CachedTile {
  return {
    body: !body ? Buffer.alloc(0) : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    etag: etag ?? '""', contentType: MVT_CONTENT_TYPE, cheap,
  };
}
