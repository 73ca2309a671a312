// Features as the NextGIS Web feature API and exports write them.
import type { Geometry } from 'geojson';
import wkx from 'wkx';
import { PreparedArea } from '../identify/area.js';
import { allFinite, inWorld } from '../common/coordinates.js';
import { transform, transformGeometry } from '../store/crs.js';
import { bboxOf } from '../store/memory-layer.js';
import type { Feature, FieldDef, FieldValue } from '../store/types.js';
import { badParameter } from './errors.js';
import { wktParam } from './params.js';

export type DateFormat = 'obj' | 'iso';

/**
 * The `intersects` parameter (WKT in `srs`) as the filter identify uses (EPSG:4326): a feature is
 * tested against the shape only around it, after being clipped to the shape's box, so a feature
 * of 100,000 vertices costs one clip, not a Turf test per part of the shape (minutes, once).
 */
export function intersectsArea(wkt: string | undefined, srs: number): PreparedArea | undefined {
  if (!wkt) return undefined;
  const wgs84 = transformGeometry(wktParam(wkt, 'intersects'), transform(srs, 4326));
  // Checked as identify checks its shape (a database would fail on latitudes past the poles).
  if (!allFinite(wgs84) || !inWorld(bboxOf(wgs84))) throw badParameter('intersects', `lies outside the area where EPSG:${srs} is defined`);
  return new PreparedArea(wgs84);
}

/** NGW's "obj" form of DATE/TIME/DATETIME values, e.g. {"year":2020,"month":5,"day":1}. */
function dateObject(value: string, type: FieldDef['datatype']): Record<string, number> {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  const t = /(?:^|T)(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  const out: Record<string, number> = {};
  if (m && type !== 'TIME') Object.assign(out, { year: +m[1], month: +m[2], day: +m[3] });
  if (t && type !== 'DATE') Object.assign(out, { hour: +t[1], minute: +t[2], second: +(t[3] ?? 0) });
  return out;
}

/** A value for JSON: bigints beyond 2^53 as strings, dates in the requested form. */
export function jsonValue(value: FieldValue, type: FieldDef['datatype'], dates: DateFormat = 'iso'): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value !== null && dates === 'obj' && (type === 'DATE' || type === 'TIME' || type === 'DATETIME')) {
    return dateObject(String(value), type);
  }
  return value;
}

/**
 * `g` without the empty parts of its multi-geometries (PostGIS keeps MULTIPOLYGON(((…)), EMPTY)),
 * which wkx writes as WKT no reader takes: MULTIPOLYGON(((…)),())).
 */
function withoutEmptyParts(g: Geometry): Geometry {
  switch (g.type) {
    case 'MultiLineString': return g.coordinates.some((p) => !p.length) ? { ...g, coordinates: g.coordinates.filter((p) => p.length) } : g;
    case 'MultiPolygon': return g.coordinates.some((p) => !p.length) ? { ...g, coordinates: g.coordinates.filter((p) => p.length) } : g;
    case 'GeometryCollection': return { ...g, geometries: g.geometries.map(withoutEmptyParts) };
    default: return g;
  }
}

export function toWkt(g: Geometry): string {
  return wkx.Geometry.parseGeoJSON(withoutEmptyParts(g)).toWkt();
}

/**
 * Reprojects stored EPSG:4326 geometry for output; identity for 4326. A geometry with a point the
 * SRS does not take (a latitude past 90° in Mercator) is none: its NaNs were written as POINT(NaN NaN).
 */
export function outputProjector(srs: number): (g: Geometry | null) => Geometry | null {
  const t = transform(4326, srs);
  if (!t) return (g) => g;
  return (g) => {
    const projected = g && transformGeometry(g, t);
    return projected && allFinite(projected) ? projected : null;
  };
}

/** NGW's feature extensions: Meridian knows their names and holds no data for them. */
const EXTENSIONS = ['description', 'attachment'];

/** The `extensions` parameter: the extensions a feature carries, every one when absent, those named (known ones) else. */
export function extensionsParam(value: string | undefined): string[] {
  return value === undefined ? EXTENSIONS : EXTENSIONS.filter((e) => value.split(',').includes(e));
}

export function featureJson(
  f: Feature, fields: FieldDef[], project: (g: Geometry | null) => Geometry | null,
  opts: { geom: boolean; dates: DateFormat; extensions?: string[] },
): Record<string, unknown> {
  const out: Record<string, unknown> = { id: f.fid };
  if (opts.geom) {
    const g = project(f.geometry);
    out.geom = g ? toWkt(g) : null;
  }
  const values: Record<string, unknown> = {};
  for (const d of fields) values[d.keyname] = jsonValue(f.fields[d.keyname], d.datatype, opts.dates);
  out.fields = values;
  out.extensions = Object.fromEntries((opts.extensions ?? EXTENSIONS).map((e) => [e, null]));
  return out;
}
