// What a worker holds per layer to cut tiles: the packed geometry, its Web Mercator projection,
// per-vertex importance, and the attributes already encoded as MVT values. All of it lives on
// SharedArrayBuffers, so it is prepared once and shared by every worker without copies.
import type { PackedTransfer } from '../store/packed.js';
import type { BoxPyramid, VertexBlocks } from './blocks.js';

export interface AttributeTable {
  keys: string[];
  /** Per row, per key: index into the value table, or NO_VALUE for null. */
  rowValues: Uint32Array;
  /** Value messages, back to back; value i is valueBytes[valueOffsets[i] .. valueOffsets[i + 1]). */
  valueBytes: Uint8Array;
  valueOffsets: Uint32Array;
}

export const NO_VALUE = 0xffffffff;

/** A layer's geometry as tiles read it: all but the lon/lat coordinates (tiles read `world`). */
export type TileGeometry = Omit<PackedTransfer, 'coords' | 'bboxes'> & {
  /** Per feature; null for a layer of single points, whose bboxes are its points. */
  bboxes: Float64Array | null;
};

export interface MvtLayerData {
  geometry: TileGeometry;
  fids: Float64Array;
  /** World x, y per vertex (see project.ts). */
  world: Float64Array;
  /** Douglas–Peucker importance per vertex, in squared world units (see importance.ts). */
  importance: Float32Array;
  /** Bboxes and top importance of runs of vertices, so a tile skips runs far away or too fine (see blocks.ts). */
  blocks: VertexBlocks;
  /**
   * Bboxes of parts and runs of parts, so a tile skips the parts far from it (a country's far
   * islands); null exactly for a layer of single points (point-order.ts isOnePointEach), where each
   * part is one vertex that drawing tests itself (the pyramid took 64 MB per million points, unread).
   */
  parts: BoxPyramid | null;
  attributes: AttributeTable;
}

export function sharedCopy<T extends Float64Array | Float32Array | Uint32Array | Uint8Array>(
  Type: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, source: ArrayLike<number>,
): T {
  const out = new Type(new SharedArrayBuffer(Math.max(1, source.length) * Type.BYTES_PER_ELEMENT));
  out.set(source);
  return out;
}
