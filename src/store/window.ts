// The features of a layer near one place, packed as a MemoryLayer: how a database-backed layer
// goes through the tiling and rendering cores made for the embedded store (one bbox query on the
// table's spatial index per tile, then the same cutting and drawing as for files).
import { ColumnsBuilder } from './columns.js';
import { MemoryLayer } from './memory-layer.js';
import { GeometryPacker } from './packed.js';
import type { BBox, FeatureLayer } from './types.js';

/**
 * `layer` itself when held in memory, else the features whose bbox meets any of `boxes` (EPSG:4326),
 * once each; `signal` stops the reading (see FeatureQuery.signal).
 */
export async function windowOf(layer: FeatureLayer, boxes: readonly BBox[], signal?: AbortSignal): Promise<MemoryLayer> {
  if (layer instanceof MemoryLayer) return layer;
  const packer = new GeometryPacker();
  const fids: number[] = [];
  const columns = new ColumnsBuilder(layer.schema.fields);
  const seen = new Set<number>();
  for (const bbox of boxes) {
    for await (const f of layer.features({ bbox, signal })) {
      if (seen.has(f.fid)) continue;
      seen.add(f.fid);
      packer.add(f.geometry);
      fids.push(f.fid);
      columns.add((d) => f.fields[d.keyname]);
    }
  }
  return new MemoryLayer(layer.schema, packer.finish(), Float64Array.from(fids), columns.finish());
}
