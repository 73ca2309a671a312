// Making MVT tiles of feature layers, for the tile endpoints and for seeding. On the main thread:
// a probe of the index answers empty tiles, z0–z5 tiles come cut from the layer's preparation, and
// tiles with few vertices near them (tens of microseconds of work, less than a worker trip) are
// cut at once; the rest are cut and encoded in the worker pool.
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { WorkerPool } from '../pool/pool.js';
import type { FeatureLayer } from '../store/types.js';
import type { TileAddress } from '../tiles/address.js';
import type { CachedTile } from '../tiles/cache.js';
import { MemoryLayer } from '../store/memory-layer.js';
import { MvtLayers, TILE_TASK, layerKey, type LayerRef, type LowZoomPlan } from './layers.js';
import { cutTile, type TileAnswer, type TileRequest } from './tile-task.js';

export const MVT_CONTENT_TYPE = 'application/vnd.mapbox-vector-tile';

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

/** Most vertices (plus one per feature) near a tile for it to be cut on the main thread: some 20–50 µs of work. */
const MAIN_THREAD_VERTICES = 1024;

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
    this.layers = new MvtLayers(pool, log, lowZoomPlan);
    catalog.onLayerChange((id) => this.layers.changed(id, catalog.layerState(id)));
  }

  /** The tile holding one MVT layer per entry of `layers`, in order; an empty body when no feature is in it. */
  async make(layers: readonly MvtTileLayer[], at: TileAddress, options: MvtOptions = DEFAULT_MVT_OPTIONS): Promise<CachedTile> {
    // Checked first so a layer that cannot be tiled fails even where the tile would be empty.
    const sources = layers.map((l) => this.layers.source(refOf(l), l.layer));
    if (!layers.some(({ layer }) => this.layers.mayHaveFeatures(layer, at.z, at.x, at.y, options.padding))) return mvtTile({ body: null, etag: null });
    const only = layers[0];
    if (layers.length === 1 && at.z <= LOW_ZOOM_MAX && isDefaultMvt(options) && only.layer instanceof MemoryLayer) {
      const low = await this.layers.lowZoomTile(refOf(only), only.layer, nameOf(only), at.z, at.x, at.y);
      if (low !== undefined) return mvtTile(low ?? { body: null, etag: null });
    }
    const request: TileRequest = {
      ...at, ...options,
      layers: layers.map((l) => ({ key: layerKey(refOf(l)), name: nameOf(l) })),
    };
    const memory = layers.flatMap(({ layer }) => (layer instanceof MemoryLayer ? [layer] : []));
    if (memory.length === layers.length && this.layers.fewVertices(memory, at.z, at.x, at.y, options.padding, MAIN_THREAD_VERTICES)) {
      const data = await Promise.all(layers.map((l, i) => this.layers.data(refOf(l), memory[i])));
      return mvtTile(cutTile(request, (key) => data[request.layers.findIndex((l) => l.key === key)]));
    }
    return mvtTile(await this.pool.run<TileAnswer>(TILE_TASK, request, { layers: sources }));
  }

  /** Workers drop what they hold for a layer that is gone (an evicted or replaced project's). */
  forget(ref: LayerRef): void {
    this.layers.forget(ref);
  }
}

function mvtTile({ body, etag }: TileAnswer): CachedTile {
  return {
    // A worker's answer is moved here; a pre-cut tile is copied out of its shared block.
    body: !body ? Buffer.alloc(0) : body.buffer instanceof SharedArrayBuffer ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    etag: etag ?? '""', contentType: MVT_CONTENT_TYPE,
  };
}
