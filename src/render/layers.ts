// Main-thread side of rendering in the worker pool: the data a worker holds per layer (packed
// geometry on SharedArrayBuffers, shared not copied, and the attribute rows, copied once per worker
// and layer version), keyed and versioned for the pool.
import { type LayerSource, type WorkerPool } from '../pool/pool.js';
import { ApiError } from '../http/errors.js';
import { MemoryLayer } from '../store/memory-layer.js';
import { toTransfer } from '../store/packed.js';
import type { FeatureLayer } from '../store/types.js';
import type { LayerRef } from '../tiling/layers.js';
import type { RenderLayerData } from './layer-render.js';

export const renderLayerKey = (ref: LayerRef) => `render:${ref}`;

export class RenderLayers {
  private readonly data = new WeakMap<MemoryLayer, RenderLayerData>();
  private readonly versions = new WeakMap<MemoryLayer, number>();
  private nextVersion = 1;

  constructor(private readonly pool: WorkerPool) {}

  source(ref: LayerRef, layer: FeatureLayer): LayerSource {
    if (!(layer instanceof MemoryLayer)) {
      throw new ApiError(501, 'NOT_RENDERABLE', `Layer ${ref} is not held in memory; only such layers are rendered yet.`);
    }
    let version = this.versions.get(layer);
    if (version === undefined) this.versions.set(layer, (version = this.nextVersion++));
    return { key: renderLayerKey(ref), version, data: () => this.dataOf(layer) };
  }

  /** A layer's data changed or is gone: workers drop what they hold for it. */
  changed(ref: LayerRef): void {
    this.pool.forgetLayer(renderLayerKey(ref));
  }

  private dataOf(layer: MemoryLayer): RenderLayerData {
    let d = this.data.get(layer);
    if (!d) {
      d = { geometry: toTransfer(layer.geometry), fields: layer.schema.fields.map((f) => f.keyname), rows: layer.rows };
      this.data.set(layer, d);
    }
    return d;
  }
}
