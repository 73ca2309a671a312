// The embedded feature layer: packed geometry, a spatial index and attribute columns, all in memory.
import type { Geometry } from 'geojson';
import { attributeTest, sortEntries, type FieldReader, type SortEntry } from './attribute-filter.js';
import { valueAt, type Column } from './columns.js';
import { candidates, geometryAt, partsAt, type PackedGeometry } from './packed.js';
import { BoxVerdict, type BBox, type Feature, type FeatureLayer, type FeatureQuery, type FieldValue, type LayerSchema } from './types.js';

export class MemoryLayer implements FeatureLayer {
  /** fid → row; null while fids are simply row + 1. */
  private readonly rowByFid: Map<number, number> | null;
  /** keyname → its column's index. */
  private readonly columnOf: Map<string, number>;

  constructor(
    readonly schema: LayerSchema,
    readonly geometry: PackedGeometry,
    readonly fids: Float64Array,
    /** One column of values per field, in schema field order (see columns.ts). */
    readonly columns: Column[],
  ) {
    let sequential = true;
    for (let i = 0; i < fids.length && sequential; i++) sequential = fids[i] === i + 1;
    this.rowByFid = sequential ? null : new Map(Array.from(fids, (fid, i) => [fid, i]));
    this.columnOf = new Map(schema.fields.map((f, k) => [f.keyname, k]));
  }

  /** Reads the values of `row`, one field at a time, as an attribute filter asks for them. */
  private reader(row: number): FieldReader {
    return (keyname) => valueAt(this.columns[this.columnOf.get(keyname)!], row);
  }

  async count(): Promise<number> {
    return this.fids.length;
  }

  async extent(): Promise<BBox | null> {
    const { index } = this.geometry;
    return this.fids.length && Number.isFinite(index.minX) ? [index.minX, index.minY, index.maxX, index.maxY] : null;
  }

  rowOf(fid: number): number {
    if (this.rowByFid) return this.rowByFid.get(fid) ?? -1;
    return Number.isInteger(fid) && fid >= 1 && fid <= this.fids.length ? fid - 1 : -1;
  }

  /** Row `row` as a feature; without its geometry when `geometry` is false (identify's hits: a continent's outlines cost more than the search). */
  featureAt(row: number, geometry = true): Feature {
    const fields: Record<string, FieldValue> = {};
    this.schema.fields.forEach((f, k) => { fields[f.keyname] = valueAt(this.columns[k], row); });
    return { fid: this.fids[row], geometry: geometry ? geometryAt(this.geometry, row) : null, fields };
  }

  async feature(fid: number): Promise<Feature | null> {
    const row = this.rowOf(fid);
    return row < 0 ? null : this.featureAt(row);
  }

  /** Rows whose bounding box meets the query's box, ascending; null when every row is a candidate. */
  candidateRows(query: FeatureQuery = {}): Uint32Array | null {
    const box = query.bbox ?? query.area?.bbox;
    return box ? candidates(this.geometry, box[0], box[1], box[2], box[3]) : null;
  }

  /** Rows matching the query's shape and attribute filter, in fid order, before offset/limit. */
  private *matchingRows(query: FeatureQuery): Generator<number> {
    const rows = this.candidateRows(query);
    const total = rows ? rows.length : this.fids.length;
    const passes = query.filter && attributeTest(query.filter, this.schema.fields);
    for (let k = 0; k < total; k++) {
      const row = rows ? rows[k] : k;
      if (rowMatches(this.geometry, row, query) && (!passes || passes(this.fids[row], this.reader(row)))) yield row;
    }
  }

  /** The rows matching the query in its order: by its sort keys (each row's values read once), then fid. */
  private orderedRows(query: FeatureQuery): Iterable<number> {
    const keys = query.orderBy;
    if (!keys?.length) return this.matchingRows(query);
    const entries: (SortEntry & { row: number })[] = [];
    for (const row of this.matchingRows(query)) {
      const value = this.reader(row);
      entries.push({ row, fid: this.fids[row], keys: keys.map((k) => value(k.field)) });
    }
    return entries.sort(sortEntries(keys)).map((e) => e.row);
  }

  async *features(query: FeatureQuery = {}): AsyncGenerator<Feature> {
    let skip = query.offset ?? 0;
    let left = query.limit ?? Infinity;
    if (left <= 0) return;
    for (const row of this.orderedRows(query)) {
      if (skip > 0) { skip--; continue; }
      yield this.featureAt(row, query.geometry !== false);
      if (--left <= 0) return;
    }
  }
}

/** Whether feature `row` of packed geometry passes the query's exact filter (also used in workers). */
export function rowMatches(g: PackedGeometry, row: number, query: FeatureQuery): boolean {
  if (query.area) {
    const b = g.bboxes, o = row * 4;
    if (Number.isNaN(b[o])) return false;
    const verdict = query.area.classify(b[o], b[o + 1], b[o + 2], b[o + 3]);
    if (verdict !== BoxVerdict.Unknown) return verdict === BoxVerdict.All;
    return query.area.intersectsParts(partsAt(g, row));
  }
  return true;
}

export function bboxOf(g: Geometry): BBox {
  let minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
  const visit = (c: unknown): void => {
    if (typeof (c as number[])[0] === 'number') {
      const [x, y] = c as number[];
      if (x < minx) minx = x; if (x > maxx) maxx = x;
      if (y < miny) miny = y; if (y > maxy) maxy = y;
    } else (c as unknown[]).forEach(visit);
  };
  // Each member's box once: taking it twice per member doubled the work at each level of nesting.
  if (g.type === 'GeometryCollection') g.geometries.forEach((x) => { const b = bboxOf(x); visit([b.slice(0, 2), b.slice(2)]); });
  else visit(g.coordinates);
  return [minx, miny, maxx, maxy];
}
