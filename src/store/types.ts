// The layer store's public vocabulary: what a feature layer is, whatever holds its data.
import type { Geometry } from 'geojson';

/** NextGIS Web field data types. */
export type FieldType = 'INTEGER' | 'BIGINT' | 'REAL' | 'STRING' | 'DATE' | 'TIME' | 'DATETIME';

export interface FieldDef {
  keyname: string;
  datatype: FieldType;
}

/** NGW geometry type names. */
export type GeometryType =
  | 'POINT' | 'LINESTRING' | 'POLYGON'
  | 'MULTIPOINT' | 'MULTILINESTRING' | 'MULTIPOLYGON';

/** A value as kept in the store: DATE/TIME/DATETIME are ISO strings, BIGINT may be a bigint. */
export type FieldValue = string | number | bigint | null;

/** A feature in EPSG:4326; `fid` is the stable positive NGW feature id. */
export interface Feature {
  fid: number;
  geometry: Geometry | null;
  fields: Record<string, FieldValue>;
}

/** [minx, miny, maxx, maxy] in EPSG:4326 degrees. */
export type BBox = [number, number, number, number];

export interface LayerSchema {
  fields: FieldDef[];
  geometryType: GeometryType;
  /** EPSG code of the source before it was brought to EPSG:4326. */
  sourceSrs: number | string;
}

/** Whether a box's contents meet a filter: all of them, none, or only an exact test can tell. */
export const enum BoxVerdict { None = 0, All = 1, Unknown = 2 }

/**
 * A query shape prepared for testing many features (see identify/area.ts): a cheap verdict from
 * a feature's bounding box first, the exact test only when the box cannot decide.
 */
export interface SpatialFilter {
  /** The shape, for stores that test it themselves (PostGIS). */
  readonly shape: Geometry;
  /** EPSG:4326 bounds of the shape. */
  readonly bbox: BBox;
  /**
   * `bbox` grown a hair, so the shape lies strictly inside: the exact test answers the same for a
   * feature cut to this box (what is cut away, and the cut's new edges on its border, never touch
   * the shape), so a store may read out only that part of a big feature (postgis-layer.ts).
   */
  readonly clipBox: BBox;
  classify(minx: number, miny: number, maxx: number, maxy: number): BoxVerdict;
  intersects(g: Geometry): boolean;
  /** The same test, fed a feature's parts one by one, so parts far away are never built. */
  intersectsParts(parts: Iterable<GeometryPart>): boolean;
}

/** One part of a feature (a polygon with its holes, a line, a run of points), built on demand. */
export interface GeometryPart {
  readonly box: BBox;
  /** The part's vertices as x, y pairs (every ring of a polygon). */
  readonly coords: ArrayLike<number>;
  geometry(): Geometry;
}

/** NGW's comparison operators (le and ge also spelt lte and gte). */
export type Comparison = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/**
 * One condition of an attribute filter (NGW's feature API; http/feature-filter.ts reads them), its
 * values already of the field's type; `field` null tests the feature id. `search` is NGW's search
 * of the whole layer: some field's value, as text, matches the LIKE pattern. Each store applies
 * them its own way (store/attribute-filter.ts in memory, postgis/filter-sql.ts in SQL), with SQL's meaning.
 */
export type FilterTerm =
  | { field: string | null; op: Comparison; value: NonNullable<FieldValue> }
  | { field: string | null; op: 'in' | 'notin'; values: NonNullable<FieldValue>[] }
  | { field: string | null; op: 'isnull'; isNull: boolean }
  | { field: string; op: 'like' | 'ilike'; pattern: string }
  | { op: 'search'; pattern: string; caseless: boolean };

/** One key of an ordering: a field, ascending unless `descending`. */
export interface SortKey {
  field: string;
  descending: boolean;
}

export interface FeatureQuery {
  /** Candidates whose bounding box meets this box (EPSG:4326). */
  bbox?: BBox;
  /** Exact filter, in EPSG:4326: only features that intersect its shape. */
  area?: SpatialFilter;
  /**
   * False when the caller never reads the features' geometries (identify; a feature list with
   * geom=no): a database layer then leaves them null rather than read them out.
   */
  geometry?: boolean;
  /** Only features that meet every one of these terms (offset and limit count those alone). */
  filter?: FilterTerm[];
  /** Features ordered by these fields, then by fid; in fid order without. */
  orderBy?: SortKey[];
  offset?: number;
  limit?: number;
  /**
   * Aborts when whoever asked has gone (http/client-gone.ts): a database layer then stops its query on
   * the server and throws the signal's reason. A layer held in memory has nothing to stop.
   */
  signal?: AbortSignal;
}

/** A readable feature layer. Every method is async so database-backed layers fit the same shape. */
export interface FeatureLayer {
  readonly schema: LayerSchema;
  count(): Promise<number>;
  /** null for a layer without geometries. */
  extent(): Promise<BBox | null>;
  feature(fid: number): Promise<Feature | null>;
  /**
   * Features in fid order (or the query's), one at a time, so a large export never holds them all.
   * Nothing is read before the first is asked for; `return` ends the read (a database cursor and
   * its connection) at any point after.
   */
  features(query?: FeatureQuery): AsyncGenerator<Feature>;
}
