// Making MVT tiles of feature layers, for the tile endpoints and for seeding: a probe of the index
// answers empty tiles on the main thread; the rest are cut and encoded in the worker pool.
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { WorkerPool } from '../pool/pool.js';
import type { FeatureLayer } from '../store/types.js';
import type { TileAddress } from '../tiles/address.js';
import type { CachedTile } from '../tiles/cache.js';
import { MvtLayers, TILE_TASK, layerKey, type LayerRef } from './layers.js';
import type { TileAnswer, TileRequest } from './tile-task.js';

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
    // Checked first so a layer that cannot be tiled fails even where the tile would be empty.
    const sources = layers.map((l) => this.layers.source(refOf(l), l.layer));
    if (!layers.some(({ layer }) => this.layers.mayHaveFeatures(layer, at.z, at.x, at.y, options.padding))) return mvtTile({ body: null, etag: null });
    const request: TileRequest = {
      ...at, ...options,
      layers: layers.map((l) => ({ key: layerKey(refOf(l)), name: nameOf(l) })),
    };
    return mvtTile(await this.pool.run<TileAnswer>(TILE_TASK, request, { layers: sources }));
  }

  /** Workers drop what they hold for a layer that is gone (an evicted or replaced project's). */
  forget(ref: LayerRef): void {
    this.layers.forget(ref);
  }
}

function mvtTile({ body, etag }: TileAnswer): CachedTile {
  return {
    body: body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : Buffer.alloc(0),
    etag: etag ?? '""', contentType: MVT_CONTENT_TYPE,
  };
}
