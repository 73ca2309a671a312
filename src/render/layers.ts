// Main-thread side of rendering in the worker pool: the data a worker holds per layer (packed
// geometry and attribute columns on SharedArrayBuffers, shared not copied), keyed and versioned
// for the pool.
import { type LayerSource, type WorkerPool } from '../pool/pool.js';
import { MemoryLayer } from '../store/memory-layer.js';
import { toTransfer } from '../store/packed.js';
import type { LayerRef } from '../tiling/layers.js';
import type { RenderLayerData } from './layer-render.js';

export const renderLayerKey = (ref: LayerRef) => `render:${ref}`;

export class RenderLayers {
  private readonly data = new WeakMap<MemoryLayer, RenderLayerData>();
  private readonly versions = new WeakMap<MemoryLayer, number>();
  private nextVersion = 1;

  constructor(private readonly pool: WorkerPool) {}

  /** The whole layer, or the window of a database layer around one frame (a new version each time). */
  source(ref: LayerRef, layer: MemoryLayer): LayerSource {
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
      d = { geometry: toTransfer(layer.geometry), fields: layer.schema.fields.map((f) => f.keyname), columns: layer.columns };
      this.data.set(layer, d);
    }
    return d;
  }
}
