// Main-thread side of tiling: which data each worker needs per layer, prepared once per layer
// version by a worker ("mvt.prepare") and then shared with all of them (see pool/pool.ts).
import type { Logger } from 'pino';
import type { LayerState } from '../catalog/catalog.js';
import { taskModule, type LayerSource, type WorkerPool } from '../pool/pool.js';
import { MemoryLayer } from '../store/memory-layer.js';
import { toTransfer } from '../store/packed.js';
import { sharedCopy, type MvtLayerData } from './layer-data.js';
import { LowZoomIndex, type LowZoomRequest } from './low-zoom.js';
import type { PreparedLayer, PrepareRequest } from './prepare-task.js';
import { searchBoxes } from './project.js';

export const PREPARE_TASK = 'mvt.prepare';
export const TILE_TASK = 'mvt.tile';
/** Preparing a large layer takes seconds, far more than a tile; it must not hit the tile timeout. */
const PREPARE_TIMEOUT_MS = 10 * 60_000;

/** A catalog layer's id, or a QGIS project layer's ref (see qgis/project-resource.ts). */
export type LayerRef = number | string;

export const layerKey = (ref: LayerRef) => `mvt:${ref}`;

export interface Prepared {
  data: MvtLayerData;
  lowZoom: LowZoomIndex;
}

/** Which low-zoom tiles to cut when layer `ref` is prepared (see low-zoom.ts). */
export type LowZoomPlan = (ref: LayerRef, layer: MemoryLayer) => LowZoomRequest;

export class MvtLayers {
  private readonly preparing = new WeakMap<MemoryLayer, Promise<Prepared>>();
  /** The same, once ready, for the main thread to read without a promise. */
  private readonly ready = new WeakMap<MemoryLayer, Prepared>();
  private readonly versions = new WeakMap<MemoryLayer, number>();
  private nextVersion = 1;

  constructor(
    private readonly pool: WorkerPool, private readonly log: Logger, private readonly lowZoomPlan: LowZoomPlan,
    /** Hears each prepared layer's data and pre-cut tiles (cut with `params`), on the main thread. */
    private readonly onPrepared: (data: MvtLayerData, lowZoom: LowZoomIndex, params: LowZoomRequest['params']) => void = () => {},
  ) {
    pool.register(PREPARE_TASK, taskModule('./prepare-task.js', import.meta.url));
    pool.register(TILE_TASK, taskModule('./tile-task.js', import.meta.url));
  }

  /**
   * What a tile task needs to hold for layer `ref`: the whole layer, or the window of a database
   * layer around one tile (each window is a new version, shipped with its task).
   */
  source(ref: LayerRef, layer: MemoryLayer): LayerSource {
    let version = this.versions.get(layer);
    if (version === undefined) this.versions.set(layer, (version = this.nextVersion++));
    return { key: layerKey(ref), version, data: async () => (await this.prepared(ref, layer)).data };
  }

  /** The layer's data and pre-cut tiles if it is prepared already (see `prepared`), else undefined. */
  preparedNow(layer: MemoryLayer): Prepared | undefined {
    return this.ready.get(layer);
  }

  /**
   * How many features come near tile z/x/y (by their bboxes), counted until they pass `limit`: 0
   * for an empty tile, answered without any cutting. A probe of each layer's index, stopping early.
   */
  featuresNear(layers: readonly MemoryLayer[], z: number, x: number, y: number, padding: number, limit: number): number {
    let count = 0;
    for (const { geometry: { index } } of layers) {
      for (const b of searchBoxes(z, x, y, padding, index.minX, index.maxX)) {
        if (index.collides(b.minLon, b.minLat, b.maxLon, b.maxLat, () => ++count > limit)) return count;
      }
    }
    return count;
  }

  /** A layer's data changed: workers drop the old data, and the new is prepared ahead of the first tile. */
  changed(id: number, state: LayerState | undefined): void {
    this.pool.forgetLayer(layerKey(id));
    if (state?.status === 'ready' && state.layer instanceof MemoryLayer) {
      this.prepared(id, state.layer).catch((err) => this.log.error({ resource: id, err }, 'tile preparation failed'));
    }
  }

  /** Workers drop what they hold for a layer that is gone (an evicted or reloaded project's). */
  forget(ref: LayerRef): void {
    this.pool.forgetLayer(layerKey(ref));
  }

  /** The layer's data and pre-cut tiles, once it is prepared (in a worker, once per layer). */
  prepared(id: LayerRef, layer: MemoryLayer): Promise<Prepared> {
    let ready = this.preparing.get(layer);
    if (!ready) {
      const started = Date.now();
      const request: PrepareRequest = {
        geometry: toTransfer(layer.geometry), fids: sharedCopy(Float64Array, layer.fids),
        fields: layer.schema.fields, columns: layer.columns, lowZoom: this.lowZoomPlan(id, layer),
      };
      ready = this.pool.run<PreparedLayer>(PREPARE_TASK, request, { timeoutMs: PREPARE_TIMEOUT_MS })
        .then(({ data, lowZoom }) => {
          const prepared = { data, lowZoom: new LowZoomIndex(lowZoom) };
          this.ready.set(layer, prepared);
          this.onPrepared(data, prepared.lowZoom, request.lowZoom.params);
          return prepared;
        });
      ready.then(
        ({ lowZoom }) => this.log.info({
          resource: id, features: layer.fids.length, ms: Date.now() - started, lowZoomTiles: lowZoom.count, lowZoomBytes: lowZoom.bytes,
        }, 'layer prepared for tiles'),
        () => this.preparing.delete(layer), // let the next request try again
      );
      this.preparing.set(layer, ready);
    }
    return ready;
  }
}
