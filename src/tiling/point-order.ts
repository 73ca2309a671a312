// A layer of single points, laid out for tiles in spatial order. In a layer's own order (the
// source's) the points of one tile lie all over memory, so drawing each costs several cache misses
// (its coordinates, id, attributes); laid out along a Z-order curve they sit together, and a
// mid-zoom tile of thousands of points is cut 2–3 times faster (npm run bench:mvt, 1 M points).
// Only the tiling copy is reordered: the layer itself, its exports and identify keep their order.
import Flatbush from 'flatbush';
import { sharedArray, type PackedTransfer } from '../store/packed.js';
import type { TileGeometry } from './layer-data.js';

/** Whether every feature is one part of one vertex (a layer of single points): feature i is vertex i. */
export function isOnePointEach({ count, featureParts, partVertices }: Pick<PackedTransfer, 'count' | 'featureParts' | 'partVertices'>): boolean {
  if (partVertices.length !== count + 1) return false;
  for (let i = 0; i <= count; i++) if (featureParts[i] !== i || partVertices[i] !== i) return false;
  return true;
}

/**
 * The rows in Z-order of their coordinates. Each key (the interleaved bits of the cell) and its row
 * are packed in one float so that a typed-array sort, fast on millions, orders them.
 */
function zOrder(coords: Float64Array, count: number): Uint32Array {
  const rowBits = Math.max(1, Math.ceil(Math.log2(count)));
  // 53 bits of a float's integer part: the rest of what the row leaves, at most 16 bits per axis.
  const axisBits = Math.min(16, (53 - rowBits) >> 1);
  const cells = 2 ** axisBits, rows = 2 ** rowBits;
  const packed = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const cx = Math.min(cells - 1, Math.floor(((coords[2 * i] + 180) / 360) * cells));
    const cy = Math.min(cells - 1, Math.floor(((coords[2 * i + 1] + 90) / 180) * cells));
    let key = 0;
    for (let b = axisBits - 1; b >= 0; b--) key = key * 4 + ((cx >> b) & 1) * 2 + ((cy >> b) & 1);
    packed[i] = key * rows + i;
  }
  packed.sort();
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = packed[i] % rows;
  return order;
}

/**
 * The geometry of a layer of single points reordered along the curve, with its own index; its
 * coordinates in that order (to project, then drop); and `order` (row of the layer at each new
 * position), to carry ids and attributes along.
 */
export function inSpatialOrder(g: PackedTransfer): { geometry: TileGeometry; coords: Float64Array; order: Uint32Array } {
  const order = zOrder(g.coords, g.count);
  const kinds = sharedArray(Uint8Array, g.count), coords = new Float64Array(2 * g.count);
  const index = new Flatbush(Math.max(1, g.count), 16, Float64Array, SharedArrayBuffer);
  for (let i = 0; i < g.count; i++) {
    const row = order[i];
    kinds[i] = g.kinds[row];
    coords[2 * i] = g.coords[2 * row];
    coords[2 * i + 1] = g.coords[2 * row + 1];
    index.add(coords[2 * i], coords[2 * i + 1], coords[2 * i], coords[2 * i + 1]);
  }
  if (g.count === 0) index.add(Infinity, Infinity, Infinity, Infinity);
  index.finish();
  // One part of one vertex per feature, in any order: the part arrays stay as they are.
  const { coords: _, ...parts } = g;
  return { geometry: { ...parts, kinds, bboxes: null, index: index.data }, coords, order };
}

/** `values` (one per row) at the rows of `order`, on a SharedArrayBuffer. */
export function reorderRows(values: Float64Array, order: Uint32Array): Float64Array {
  const out = sharedArray(Float64Array, order.length);
  for (let i = 0; i < order.length; i++) out[i] = values[order[i]];
  return out;
}
