// What every format reader hands to the layer builder.
import type { Geometry } from 'geojson';
import type { FieldDef } from './types.js';

export interface RawFeature {
  /** The source's own id, used as the fid when every feature has a distinct positive integer. */
  id?: unknown;
  /** In the source's CRS. */
  geometry: Geometry | null;
  properties: Record<string, unknown> | null;
}

export interface SourceReader {
  /** The CRS the source declares (EPSG code, WKT, proj string); null means EPSG:4326. */
  crs: number | string | null;
  /** Field types when the format declares them (DBF, GeoPackage); inferred otherwise. */
  fields?: FieldDef[];
  features: AsyncIterable<RawFeature>;
}

/** A file that cannot be read as the format it claims: the layer goes into error state. */
export class SourceError extends Error {}
