// An identify shape as two typed arrays, for the trip between threads: a structured clone of
// 100,000 positions (one array each) costs the sending thread ~15 ms and the receiving one more,
// a Float64Array a copy of its bytes (or nothing, moved).
import type { Position } from 'geojson';
import type { Shape, ShapeType } from './shape.js';

export interface PackedShape {
  type: ShapeType;
  /** x, y of every position, in order. */
  coords: Float64Array;
  /** The length of every list above positions, depth first (a multipolygon's polygons, each one's rings, each ring's positions). */
  counts: Uint32Array;
}

/** How many list levels lie above the positions of a shape of `type`. */
const LEVELS: Record<ShapeType, number> = { Point: 0, MultiPoint: 1, LineString: 1, MultiLineString: 2, Polygon: 2, MultiPolygon: 3 };

export function packShape(shape: Shape): PackedShape {
  const coords: number[] = [];
  const counts: number[] = [];
  const walk = (node: unknown, level: number): void => {
    if (level === 0) {
      const p = node as Position;
      coords.push(p[0], p[1]);
      return;
    }
    const list = node as unknown[];
    counts.push(list.length);
    for (const child of list) walk(child, level - 1);
  };
  walk(shape.coordinates, LEVELS[shape.type]);
  return { type: shape.type, coords: Float64Array.from(coords), counts: Uint32Array.from(counts) };
}

export function unpackShape({ type, coords, counts }: PackedShape): Shape {
  let c = 0, k = 0;
  const read = (level: number): unknown => {
    if (level === 0) {
      const p = [coords[c], coords[c + 1]];
      c += 2;
      return p;
    }
    const list = new Array(counts[k++]);
    for (let i = 0; i < list.length; i++) list[i] = read(level - 1);
    return list;
  };
  return { type, coordinates: read(LEVELS[type]) } as Shape;
}

/** Whether `value` is a packed shape (a search request's shape may also be any geometry, as intersects= takes). */
export function isPackedShape(value: object): value is PackedShape {
  return 'coords' in value && 'counts' in value;
}
