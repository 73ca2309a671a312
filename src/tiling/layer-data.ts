// What a worker holds per layer to cut tiles: the packed geometry, its Web Mercator projection,
// per-vertex importance, and the attributes already encoded as MVT values. All of it lives on
// SharedArrayBuffers, so it is prepared once and shared by every worker without copies.
import type { PackedTransfer } from '../store/packed.js';

export interface AttributeTable {
  keys: string[];
  /** Per row, per key: index into the value table, or NO_VALUE for null. */
  rowValues: Uint32Array;
  /** Value messages, back to back; value i is valueBytes[valueOffsets[i] .. valueOffsets[i + 1]). */
  valueBytes: Uint8Array;
  valueOffsets: Uint32Array;
}

export const NO_VALUE = 0xffffffff;

/** Vertices per chunk of `chunkBoxes` (a power of two). */
export const CHUNK_BITS = 5;
export const CHUNK = 1 << CHUNK_BITS;

export interface MvtLayerData {
  geometry: PackedTransfer;
  fids: Float64Array;
  /** World x, y per vertex (see project.ts). */
  world: Float64Array;
  /** Douglas–Peucker importance per vertex, in squared world units (see importance.ts). */
  importance: Float32Array;
  /**
   * World bbox (minx, miny, maxx, maxy) of each run of CHUNK vertices, so a tile skips the runs of
   * a long ring that lie wholly beyond one side of it (only their ends matter to clipping).
   */
  chunkBoxes: Float64Array;
  /** Highest importance in each chunk: a chunk at or under a zoom's tolerance adds no vertex. */
  chunkImportance: Float32Array;
  attributes: AttributeTable;
}

export function sharedCopy<T extends Float64Array | Float32Array | Uint32Array | Uint8Array>(
  Type: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, source: ArrayLike<number>,
): T {
  const out = new Type(new SharedArrayBuffer(Math.max(1, source.length) * Type.BYTES_PER_ELEMENT));
  out.set(source);
  return out;
}
