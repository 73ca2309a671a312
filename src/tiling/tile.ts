// Cuts one layer's part of a tile: finds candidates in the spatial index, simplifies by the
// per-vertex importance threshold of this zoom, transforms to tile units, clips with the buffer,
// and writes features with pre-encoded attributes. Features near the antimeridian are also drawn
// shifted by one world width, so a tile's buffer sees what lies across the ±180° seam.
import Flatbush from 'flatbush';
import type { PbfWriter as Pbf } from 'pbf';
import { Kind } from '../store/packed.js';
import { Flat64, FlatU32 } from './buffers.js';
import { clipLine, clipRing, type ClipBox } from './clip.js';
import { CommandWriter, GeomType } from './commands.js';
import { writeBytesField, writeFeature, writeLayer } from './encode.js';
import { BLOCK, BLOCK_BITS } from './blocks.js';
import { NO_VALUE, type MvtLayerData } from './layer-data.js';
import { searchBoxes, worldX, worldY } from './project.js';

export interface TileParams {
  z: number;
  x: number;
  y: number;
  /** Tile units per side. */
  extent: number;
  /** Douglas–Peucker tolerance, in tile units. */
  simplification: number;
  /** Clip buffer, as a share of the tile side. */
  padding: number;
}

/**
 * What a cut may still do before giving up: vertices kept plus features drawn. The main thread
 * cuts a tile itself only within a small budget (see mvt-tiles.ts); a worker's is unbounded.
 */
export interface WorkBudget {
  left: number;
  /** Throws once whoever asked for the tile has gone: a worker's cut (see TaskContext), checked every 1,024 candidates. */
  throwIfAbandoned?: () => void;
}

/** Thrown out of writeTileLayer when the cut passes its budget (the writer then holds no tile). */
export const OVER_BUDGET = new Error('the tile is over its work budget');

/** Per-layer helpers a worker builds once: the index, and stamps that map values to tile-local slots. */
interface LayerScratch {
  index: Flatbush;
  /** Every feature is one part of one vertex (a layer of single points): feature i is vertex i. */
  onePointEach: boolean;
  stamp: number;
  keyStamp: Uint32Array;
  keySlot: Uint32Array;
  valueStamp: Uint32Array;
  valueSlot: Uint32Array;
}

const scratchByLayer = new WeakMap<MvtLayerData, LayerScratch>();

function scratchOf(data: MvtLayerData): LayerScratch {
  let s = scratchByLayer.get(data);
  if (!s) {
    const keys = data.attributes.keys.length, values = data.attributes.valueOffsets.length - 1;
    s = {
      index: Flatbush.from(data.geometry.index), onePointEach: data.parts === null, stamp: 0,
      keyStamp: new Uint32Array(keys), keySlot: new Uint32Array(keys),
      valueStamp: new Uint32Array(values), valueSlot: new Uint32Array(values),
    };
    scratchByLayer.set(data, s);
  }
  return s;
}

const TYPE_OF: Record<number, GeomType> = {
  [Kind.Point]: GeomType.Point, [Kind.MultiPoint]: GeomType.Point,
  [Kind.LineString]: GeomType.LineString, [Kind.MultiLineString]: GeomType.LineString,
  [Kind.Polygon]: GeomType.Polygon, [Kind.MultiPolygon]: GeomType.Polygon,
};

// Worker-wide scratch, reused tile after tile.
const commands = new CommandWriter();
const tags = new FlatU32();
const part = new Flat64();
const tmp = new Flat64();
const pieces = new Flat64();
const pieceEnds: number[] = [];
const candidateKeys = new FlatU32();

/**
 * Candidate rows with the world shift (-1, 0, +1) each is drawn at, as row * 4 + shift + 1, sorted
 * by row (a typed array's native sort: a comparator sort cost a fifth of a dense tile's cut).
 */
function candidates(index: Flatbush, p: TileParams): Uint32Array {
  const found: number[][] = [], shifts: number[] = [];
  let total = 0;
  for (const b of searchBoxes(p.z, p.x, p.y, p.padding, index.minX, index.maxX)) {
    const rows = index.search(b.minLon, b.minLat, b.maxLon, b.maxLat);
    if (rows.length) { found.push(rows); shifts.push(b.shift + 1); total += rows.length; }
  }
  const keys = candidateKeys.reserve(total);
  let n = 0;
  for (let f = 0; f < found.length; f++) for (const r of found[f]) keys[n++] = r * 4 + shifts[f];
  return keys.sort();
}

/**
 * Writes the layer `name` of the tile into `pbf`; returns how many features it holds. Throws
 * OVER_BUDGET once the cut has kept more vertices (plus features) than `budget` has left.
 */
export function writeTileLayer(pbf: Pbf, data: MvtLayerData, name: string, p: TileParams, budget: WorkBudget = { left: Infinity }): number {
  const scratch = scratchOf(data);
  const stamp = ++scratch.stamp;
  const { kinds, featureParts, partVertices, partOuter, bboxes } = data.geometry;
  const { world, importance, fids, parts } = data;
  const { boxes, importance: blockImportance, levelStart } = data.blocks;
  const vertexLevels = levelStart.length - 1;
  const { rowValues, valueBytes, valueOffsets, keys } = data.attributes;
  const nk = keys.length;
  const z2 = 2 ** p.z;
  const scale = z2 * p.extent;
  const box: ClipBox = { min: -p.padding * p.extent, max: p.extent * (1 + p.padding) };
  const sqTolerance = (p.simplification / scale) ** 2;
  const found = candidates(scratch.index, p);
  const usedKeys: number[] = [];
  const usedValues: number[] = [];
  let written = 0;

  function spend(work: number): void {
    if ((budget.left -= work) < 0) throw OVER_BUDGET;
  }

  const writeFeatures = (pbf: Pbf) => {
    for (let c = 0; c < found.length; c++) {
      if ((c & 1023) === 0) budget.throwIfAbandoned?.();
      const row = found[c] >>> 2;
      const type = TYPE_OF[kinds[row]];
      if (!type) continue;
      commands.reset();
      // A feature drawn at two shifts (only possible near the seam) keeps one id: its parts join.
      for (; ; c++) {
        drawFeature(row, (found[c] & 3) - 1, type);
        if (c + 1 >= found.length || found[c + 1] >>> 2 !== row) break;
      }
      if (commands.empty) continue;
      tags.clear();
      for (let k = 0; k < nk; k++) {
        const v = rowValues[row * nk + k];
        if (v === NO_VALUE) continue;
        if (scratch.keyStamp[k] !== stamp) { scratch.keyStamp[k] = stamp; scratch.keySlot[k] = usedKeys.length; usedKeys.push(k); }
        if (scratch.valueStamp[v] !== stamp) { scratch.valueStamp[v] = stamp; scratch.valueSlot[v] = usedValues.length; usedValues.push(v); }
        tags.push(scratch.keySlot[k]);
        tags.push(scratch.valueSlot[v]);
      }
      writeFeature(pbf, fids[row], type, tags, commands.out);
      written++;
    }
    return {
      keys: usedKeys.map((k) => keys[k]),
      writeValues(pbf: Pbf) {
        for (const v of usedValues) writeBytesField(pbf, 4, valueBytes, valueOffsets[v], valueOffsets[v + 1]);
      },
    };
  };

  /** Whether world box `i` of `all` (minx, miny, maxx, maxy runs) lies wholly beyond one side of the buffered tile. */
  function beyond(all: Float64Array, i: number, dx: number, dy: number): boolean {
    const o = i * 4;
    return all[o + 2] * scale + dx < box.min || all[o] * scale + dx > box.max
      || all[o + 3] * scale + dy < box.min || all[o + 1] * scale + dy > box.max;
  }

  /**
   * Appends the kept vertices of first..end to `part`, in tile units. From each aligned position the
   * largest block that fits is tried, then smaller ones: a block wholly beyond one side of the box
   * is reduced to its ends (only their edges matter to clipping), one under the tolerance is skipped.
   */
  function walkPart(first: number, end: number, dx: number, dy: number, clipped: boolean): void {
    let v = first;
    while (v < end) {
      if ((v & (BLOCK - 1)) === 0 && v + BLOCK <= end) {
        let k = 0;
        while (k + 1 < vertexLevels && (v & ((BLOCK << (k + 1)) - 1)) === 0 && v + (BLOCK << (k + 1)) <= end) k++;
        let skipped = false;
        for (; k >= 0 && !skipped; k--) {
          const size = BLOCK << k, block = levelStart[k] + (v >> (BLOCK_BITS + k)), last = v + size - 1;
          if (clipped && beyond(boxes, block, dx, dy)) {
            part.push2(world[2 * v] * scale + dx, world[2 * v + 1] * scale + dy);
            part.push2(world[2 * last] * scale + dx, world[2 * last + 1] * scale + dy);
            v += size;
            skipped = true;
          } else if (blockImportance[block] <= sqTolerance) {
            v += size;
            skipped = true;
          }
        }
        if (skipped) continue;
        for (const stop = v + BLOCK; v < stop; v++) {
          if (importance[v] > sqTolerance) part.push2(world[2 * v] * scale + dx, world[2 * v + 1] * scale + dy);
        }
        // One long part (a continent's coast) must not run far past the budget before it is spent.
        if (part.length > 2 * budget.left) throw OVER_BUDGET;
        continue;
      }
      if (importance[v] > sqTolerance) part.push2(world[2 * v] * scale + dx, world[2 * v + 1] * scale + dy);
      v++;
    }
  }

  /**
   * A point feature's vertices first..end inside the buffered tile. Each point is tested itself: no
   * feature or part bbox is read, as each would be one more cache miss per point of a large layer.
   */
  function drawPoints(first: number, end: number, dx: number, dy: number): void {
    spend(end - first);
    part.clear();
    for (let v = first; v < end; v++) {
      const tx = world[2 * v] * scale + dx, ty = world[2 * v + 1] * scale + dy;
      if (tx >= box.min && tx <= box.max && ty >= box.min && ty <= box.max) part.push2(tx, ty);
    }
    commands.points(part.data, 0, part.length);
  }

  function drawFeature(row: number, shift: number, type: GeomType): void {
    spend(1);
    const dx = (shift * z2 - p.x) * p.extent, dy = -p.y * p.extent;
    if (type === GeomType.Point) {
      // Two reads fewer per point (each a likely cache miss) when the layer is single points.
      if (scratch.onePointEach) drawPoints(row, row + 1, dx, dy);
      else drawPoints(partVertices[featureParts[row]], partVertices[featureParts[row + 1]], dx, dy);
      return;
    }
    const b = row * 4;
    // Whole feature inside the buffered tile: no clipping needed. (No bboxes: a layer of single
    // points, where a feature of another kind is one vertex, which draws nothing either way.)
    const inside = bboxes !== null && worldX(bboxes[b]) * scale + dx >= box.min && worldX(bboxes[b + 2]) * scale + dx <= box.max
      && worldY(bboxes[b + 3]) * scale + dy >= box.min && worldY(bboxes[b + 1]) * scale + dy <= box.max;
    let outerKept = false;
    const lastPart = featureParts[row + 1];
    for (let q = featureParts[row]; q < lastPart; q++) {
      if (!inside && parts) {
        // Skip the largest aligned run of parts wholly beyond the box (a hole lies within its
        // exterior ring, so the holes after the run whose ring was in it are beyond too).
        let k = 0;
        const partLevels = parts.levelStart.length - 1;
        while (k + 1 < partLevels && (q & ((2 << k) - 1)) === 0 && q + (2 << k) <= lastPart) k++;
        let skip = 0;
        for (; k >= 0 && !skip; k--) if (beyond(parts.boxes, parts.levelStart[k] + (q >> k), dx, dy)) skip = 1 << k;
        if (skip) {
          if (skip === 1 && partOuter[q]) outerKept = false;
          q += skip - 1;
          continue;
        }
      }
      const first = partVertices[q], end = partVertices[q + 1];
      part.clear();
      if (type === GeomType.Polygon && !partOuter[q] && !outerKept) continue; // hole of a dropped polygon
      walkPart(first, end, dx, dy, !inside);
      spend(part.length / 2);
      if (type === GeomType.LineString) {
        if (inside) { commands.line(part.data, 0, part.length); continue; }
        pieces.clear();
        pieceEnds.length = 0;
        clipLine(part, box, pieces, pieceEnds);
        let from = 0;
        for (const to of pieceEnds) { commands.line(pieces.data, from, to); from = to; }
        continue;
      }
      // Rings are clipped open: drop the closing point.
      const d = part.data;
      if (part.length >= 4 && d[0] === d[part.length - 2] && d[1] === d[part.length - 1]) part.length -= 2;
      if (!inside) clipRing(part, tmp, box);
      const kept = commands.ring(part.data, 0, part.length, partOuter[q] === 1);
      if (partOuter[q]) outerKept = kept;
    }
  }

  writeLayer(pbf, name, p.extent, writeFeatures);
  return written;
}
