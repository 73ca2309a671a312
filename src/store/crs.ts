// Coordinate reference systems: what a source or a request names, turned into proj4 transforms.
// The store keeps everything in EPSG:4326; requests may ask for any SRS proj4 can describe.
import proj4 from 'proj4';
import type { Geometry, Position } from 'geojson';

export class CrsError extends Error {}

export type Transform = (p: Position) => Position;

// Definitions proj4 lacks out of the box but GIS data commonly declares.
function ensureEpsg(code: number): string {
  const name = `EPSG:${code}`;
  if (proj4.defs(name)) return name;
  let def: string | undefined;
  if (code >= 32601 && code <= 32660) def = `+proj=utm +zone=${code - 32600} +datum=WGS84 +units=m +no_defs`;
  else if (code >= 32701 && code <= 32760) def = `+proj=utm +zone=${code - 32700} +south +datum=WGS84 +units=m +no_defs`;
  else if (code >= 25828 && code <= 25838) def = `+proj=utm +zone=${code - 25800} +ellps=GRS80 +towgs84=0,0,0 +units=m +no_defs`;
  else if (code === 4258) def = '+proj=longlat +ellps=GRS80 +no_defs';
  else if (code === 3395) def = '+proj=merc +lon_0=0 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs';
  else if (code === 900913 || code === 3785 || code === 102100) def = proj4.defs('EPSG:3857') as unknown as string;
  if (!def) throw new CrsError(`EPSG:${code} is not a coordinate system Meridian knows`);
  proj4.defs(name, def);
  return name;
}

/**
 * A CRS as sources and clients state it: an EPSG number, "EPSG:n", a GeoJSON
 * "urn:ogc:def:crs:EPSG::n", CRS84, a WKT (.prj) or a proj string. Returns a proj4 name or definition.
 */
export function crsDefinition(declared: number | string): string {
  if (typeof declared === 'number') return ensureEpsg(declared);
  const text = declared.trim();
  if (/^\d+$/.test(text)) return ensureEpsg(Number(text));
  if (/CRS84$/i.test(text)) return 'EPSG:4326';
  const epsg = /EPSG:{1,2}(\d+)$/i.exec(text);
  if (epsg) return ensureEpsg(Number(epsg[1]));
  try {
    proj4(text, 'EPSG:4326', [0, 0]);
    return text;
  } catch {
    throw new CrsError(`coordinate system not understood: ${text.slice(0, 80)}`);
  }
}

/** EPSG:4326 and its equivalents need no transform. */
function isWgs84(def: string): boolean {
  return def === 'EPSG:4326' || def === 'WGS84';
}

/**
 * How far from a pole, in degrees, a point at it is taken to be: proj4 makes a pole NaN in Mercator
 * (within 1e-10 radians of it), where PROJ, and so PostGIS and NGW, give a far but finite y.
 */
const POLE_NUDGE = 1e-8;

/** Transform from `from` to `to`, or null when they are the same. */
export function transform(from: number | string, to: number | string): Transform | null {
  const a = crsDefinition(from), b = crsDefinition(to);
  if (a === b || (isWgs84(a) && isWgs84(b))) return null;
  const converter = proj4(a, b);
  const fromWgs84 = isWgs84(a);
  return (p) => {
    let q = converter.forward([p[0], p[1]]);
    if (fromWgs84 && !Number.isFinite(q[1]) && Math.abs(p[1]) === 90) q = converter.forward([p[0], p[1] - Math.sign(p[1]) * POLE_NUDGE]);
    return [q[0], q[1]];
  };
}

/** Applies a transform to every position of a geometry (returns a new geometry). */
export function transformGeometry(g: Geometry, t: Transform | null): Geometry {
  if (!t) return g;
  const line = (ps: Position[]) => ps.map(t);
  switch (g.type) {
    case 'Point': return { type: 'Point', coordinates: t(g.coordinates) };
    case 'MultiPoint': return { type: 'MultiPoint', coordinates: line(g.coordinates) };
    case 'LineString': return { type: 'LineString', coordinates: line(g.coordinates) };
    case 'MultiLineString': return { type: 'MultiLineString', coordinates: g.coordinates.map(line) };
    case 'Polygon': return { type: 'Polygon', coordinates: g.coordinates.map(line) };
    case 'MultiPolygon': return { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map(line)) };
    case 'GeometryCollection': return { type: 'GeometryCollection', geometries: g.geometries.map((x) => transformGeometry(x, t)) };
  }
}

/** Parses a client's `srs` parameter: an EPSG number proj4 can use. */
export function parseSrs(value: string): number {
  const m = /^(?:EPSG:)?(\d{4,6})$/i.exec(value.trim());
  if (!m) throw new CrsError(`srs must be an EPSG code such as 4326 or 3857, got "${value}"`);
  const code = Number(m[1]);
  crsDefinition(code);
  return code;
}
