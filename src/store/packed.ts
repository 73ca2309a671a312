// Geometry of a whole layer in a few flat typed arrays on SharedArrayBuffers, so that worker
// threads read it without a copy and memory stays a small multiple of the raw coordinates.
//
// Every geometry is a list of "parts" (a point run, a line, or a polygon ring); a ring that
// starts a polygon is flagged outer. Point: 1 part of 1 vertex. MultiPoint: 1 part of k vertices.
// LineString: 1 part. MultiLineString: k parts. Polygon / MultiPolygon: rings, outers flagged.
import Flatbush from 'flatbush';
import type { Geometry, Position } from 'geojson';
import type { BBox, GeometryPart } from './types.js';

export const enum Kind { None = 0, Point = 1, LineString = 2, Polygon = 3, MultiPoint = 4, MultiLineString = 5, MultiPolygon = 6 }

export interface PackedGeometry {
  count: number;
  kinds: Uint8Array;          // per feature
  featureParts: Uint32Array;  // count + 1 offsets into parts
  partVertices: Uint32Array;  // parts + 1 offsets into vertices
  partOuter: Uint8Array;      // per part: 1 when the ring opens a polygon
  coords: Float64Array;       // x, y per vertex (EPSG:4326 lon, lat)
  bboxes: Float64Array;       // minx, miny, maxx, maxy per feature (NaN for no geometry)
  index: Flatbush;            // over bboxes; item i is feature i
}

const KIND_BY_TYPE: Record<string, Kind> = {
  Point: Kind.Point, LineString: Kind.LineString, Polygon: Kind.Polygon,
  MultiPoint: Kind.MultiPoint, MultiLineString: Kind.MultiLineString, MultiPolygon: Kind.MultiPolygon,
};

export function sharedArray<T extends Float64Array | Uint32Array | Uint8Array>(
  Type: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number,
): T {
  return new Type(new SharedArrayBuffer(Math.max(1, length) * Type.BYTES_PER_ELEMENT));
}

/** Growable array of numbers, copied once into a shared typed array at the end. */
export class Growable {
  private data: Float64Array;
  length = 0;
  constructor(capacity = 1024) { this.data = new Float64Array(capacity); }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  at(i: number): number { return this.data[i]; }
  into<T extends Float64Array | Uint32Array | Uint8Array>(
    Type: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
  ): T {
    const out = sharedArray(Type, this.length);
    out.set(this.data.subarray(0, this.length));
    return out;
  }
}

/** Packs geometries one by one; `finish` freezes them with their spatial index. */
export class GeometryPacker {
  private kinds = new Growable();
  private featureParts = new Growable();
  private partVertices = new Growable();
  private partOuter = new Growable();
  private coords = new Growable(4096);
  private bboxes = new Growable(4096);

  constructor() {
    this.featureParts.push(0);
    this.partVertices.push(0);
  }

  get count(): number { return this.kinds.length; }

  add(geometry: Geometry | null): void {
    const kind = geometry ? KIND_BY_TYPE[geometry.type] ?? Kind.None : Kind.None;
    this.kinds.push(kind);
    let minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
    const part = (positions: Position[], outer: boolean) => {
      for (const p of positions) {
        const x = p[0], y = p[1];
        this.coords.push(x); this.coords.push(y);
        if (x < minx) minx = x; if (x > maxx) maxx = x;
        if (y < miny) miny = y; if (y > maxy) maxy = y;
      }
      this.partVertices.push(this.coords.length / 2);
      this.partOuter.push(outer ? 1 : 0);
    };
    const polygon = (rings: Position[][]) => rings.forEach((ring, i) => part(ring, i === 0));
    if (geometry) {
      switch (geometry.type) {
        case 'Point': part([geometry.coordinates], false); break;
        case 'MultiPoint': part(geometry.coordinates, false); break;
        case 'LineString': part(geometry.coordinates, false); break;
        case 'MultiLineString': geometry.coordinates.forEach((l) => part(l, false)); break;
        case 'Polygon': polygon(geometry.coordinates); break;
        case 'MultiPolygon': geometry.coordinates.forEach(polygon); break;
        default: break; // GeometryCollection is refused by the builder before it gets here
      }
    }
    this.featureParts.push(this.partVertices.length - 1);
    if (minx === Infinity) { for (let k = 0; k < 4; k++) this.bboxes.push(NaN); }
    else { this.bboxes.push(minx); this.bboxes.push(miny); this.bboxes.push(maxx); this.bboxes.push(maxy); }
  }

  finish(): PackedGeometry {
    const count = this.count;
    const bboxes = this.bboxes.into(Float64Array);
    const index = new Flatbush(Math.max(1, count), 16, Float64Array, SharedArrayBuffer);
    for (let i = 0; i < count; i++) {
      const o = i * 4;
      // A feature without geometry is indexed at an impossible place so that ids stay aligned.
      if (Number.isNaN(bboxes[o])) index.add(Infinity, Infinity, Infinity, Infinity);
      else index.add(bboxes[o], bboxes[o + 1], bboxes[o + 2], bboxes[o + 3]);
    }
    if (count === 0) index.add(Infinity, Infinity, Infinity, Infinity);
    index.finish();
    return {
      count,
      kinds: this.kinds.into(Uint8Array),
      featureParts: this.featureParts.into(Uint32Array),
      partVertices: this.partVertices.into(Uint32Array),
      partOuter: this.partOuter.into(Uint8Array),
      coords: this.coords.into(Float64Array),
      bboxes,
      index,
    };
  }
}

function positions(g: PackedGeometry, part: number): Position[] {
  const out: Position[] = [];
  for (let v = g.partVertices[part]; v < g.partVertices[part + 1]; v++) {
    out.push([g.coords[2 * v], g.coords[2 * v + 1]]);
  }
  return out;
}

/** The GeoJSON geometry of feature i (EPSG:4326). */
export function geometryAt(g: PackedGeometry, i: number): Geometry | null {
  const first = g.featureParts[i], end = g.featureParts[i + 1];
  const polygons = (): Position[][][] => {
    const result: Position[][][] = [];
    for (let p = first; p < end; p++) {
      if (g.partOuter[p] || result.length === 0) result.push([]);
      result[result.length - 1].push(positions(g, p));
    }
    return result;
  };
  const lines = () => { const r: Position[][] = []; for (let p = first; p < end; p++) r.push(positions(g, p)); return r; };
  switch (g.kinds[i] as Kind) {
    case Kind.Point: return { type: 'Point', coordinates: positions(g, first)[0] };
    case Kind.MultiPoint: return { type: 'MultiPoint', coordinates: positions(g, first) };
    case Kind.LineString: return { type: 'LineString', coordinates: positions(g, first) };
    case Kind.MultiLineString: return { type: 'MultiLineString', coordinates: lines() };
    case Kind.Polygon: return { type: 'Polygon', coordinates: polygons()[0] ?? [] };
    case Kind.MultiPolygon: return { type: 'MultiPolygon', coordinates: polygons() };
    default: return null;
  }
}

/** Bounds of one part (ring, line or point run) straight from the packed coordinates. */
function partBox(g: PackedGeometry, part: number): BBox {
  let minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
  for (let v = g.partVertices[part]; v < g.partVertices[part + 1]; v++) {
    const x = g.coords[2 * v], y = g.coords[2 * v + 1];
    if (x < minx) minx = x; if (x > maxx) maxx = x;
    if (y < miny) miny = y; if (y > maxy) maxy = y;
  }
  return [minx, miny, maxx, maxy];
}

/**
 * Feature i's parts with their bounds: each polygon (outer ring and holes; the outer ring bounds
 * it), each line, or the point run. Geometry is built only for the parts a caller asks about.
 */
export function* partsAt(g: PackedGeometry, i: number): Generator<GeometryPart> {
  const first = g.featureParts[i], end = g.featureParts[i + 1];
  const kind = g.kinds[i] as Kind;
  if (kind === Kind.None) return;
  if (kind !== Kind.Polygon && kind !== Kind.MultiPolygon) {
    for (let p = first; p < end; p++) {
      const type = kind === Kind.Point ? 'Point' : kind === Kind.MultiPoint ? 'MultiPoint' : 'LineString';
      yield {
        box: partBox(g, p),
        coords: g.coords.subarray(2 * g.partVertices[p], 2 * g.partVertices[p + 1]),
        geometry: () => (type === 'Point' ? { type, coordinates: positions(g, p)[0] } : { type, coordinates: positions(g, p) }),
      };
    }
    return;
  }
  for (let p = first; p < end;) {
    let next = p + 1;
    while (next < end && !g.partOuter[next]) next++;
    const rings = [p, next];
    yield {
      box: partBox(g, p),
      coords: g.coords.subarray(2 * g.partVertices[p], 2 * g.partVertices[next]),
      geometry: () => {
        const coordinates: Position[][] = [];
        for (let r = rings[0]; r < rings[1]; r++) coordinates.push(positions(g, r));
        return { type: 'Polygon', coordinates };
      },
    };
    p = next;
  }
}

/** Candidate features whose bbox meets [minx, miny, maxx, maxy], in ascending index order. */
export function candidates(g: PackedGeometry, minx: number, miny: number, maxx: number, maxy: number): Uint32Array {
  if (g.count === 0) return new Uint32Array(0);
  // A typed array sorts numerically and several times faster than a plain array of a million ids.
  return Uint32Array.from(g.index.search(minx, miny, maxx, maxy)).sort();
}

/** Everything a worker thread needs to rebuild a PackedGeometry without copying coordinates. */
export type PackedTransfer = Omit<PackedGeometry, 'index'> & { index: ArrayBufferLike };

export function toTransfer(g: PackedGeometry): PackedTransfer {
  return { ...g, index: g.index.data };
}

export function fromTransfer(t: PackedTransfer): PackedGeometry {
  return { ...t, index: Flatbush.from(t.index) };
}
