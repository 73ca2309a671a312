// Query and path parameters, read strictly: a bad value is a 400 that names the parameter.
import type { Geometry, Position } from 'geojson';
import { readWkt } from '../common/wkt.js';
import { allFinite } from '../common/coordinates.js';
import { CrsError, parseSrs } from '../store/crs.js';
import { badParameter } from './errors.js';

/** The largest id of a user, group or resource: ids are 32-bit, as NextGIS Web's (PostgreSQL serial). */
export const MAX_ID = 2 ** 31 - 1;

/** An integer parameter within min..max, which never go past the integers a double holds exactly. */
export function intParam(value: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  const text = String(value ?? '');
  if (!/^-?\d+$/.test(text)) throw badParameter(name, value == null || value === '' ? 'is required' : 'must be an integer');
  const n = Number(text);
  const lo = Math.max(min, Number.MIN_SAFE_INTEGER), hi = Math.min(max, Number.MAX_SAFE_INTEGER);
  if (n < lo || n > hi) throw badParameter(name, `must be between ${lo} and ${hi}`);
  return n;
}

export function optionalInt(value: unknown, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  return value === undefined || value === '' ? fallback : intParam(value, name, min, max);
}

/** The number a decimal text writes (digits, a point, an exponent), else NaN: not hex, not "Infinity", not blank. */
export function decimal(text: string): number {
  return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : NaN;
}

/** A decimal number in [min, max]; `fallback` when absent. */
export function optionalNumber(value: unknown, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  if (value === undefined || value === '') return fallback;
  const n = decimal(String(value));
  if (Number.isNaN(n)) throw badParameter(name, 'must be a number');
  if (n < min || n > max) throw badParameter(name, `must be between ${min} and ${max}`);
  return n;
}

/** A single query value (the last one when repeated). */
export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

export function srsParam(value: string | undefined, fallback: number, name = 'srs'): number {
  if (value === undefined || value === '') return fallback;
  try {
    return parseSrs(value);
  } catch (e) {
    if (e instanceof CrsError) throw badParameter(name, `is not usable: ${e.message}`);
    throw e;
  }
}

export function boolParam(value: string | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  const v = value.toLowerCase();
  if (['yes', 'true', '1', 'on'].includes(v)) return true;
  if (['no', 'false', '0', 'off'].includes(v)) return false;
  throw badParameter(name, 'must be yes or no');
}

/** What makes a parsed geometry unusable: too few points in a line, an unclosed or short ring. */
function shapeProblem(g: Geometry): string | null {
  const line = (ps: Position[]) => (ps.length < 2 ? 'a line needs at least 2 points' : null);
  const ring = (ps: Position[]) => {
    if (ps.length < 4) return 'a polygon ring needs at least 4 points';
    const [a, b] = [ps[0], ps[ps.length - 1]];
    return a[0] !== b[0] || a[1] !== b[1] ? 'a polygon ring must be closed' : null;
  };
  const first = <T>(items: T[], check: (t: T) => string | null) => items.map(check).find((p) => p) ?? null;
  // An EMPTY geometry (or part) has nothing to reproject or intersect.
  const empty = 'it is empty (or holds an empty part)';
  switch (g.type) {
    case 'Point': return g.coordinates.length < 2 ? empty : null;
    case 'MultiPoint': return g.coordinates.length === 0 || g.coordinates.some((p) => p.length < 2) ? empty : null;
    case 'LineString': return line(g.coordinates);
    case 'MultiLineString': return g.coordinates.length === 0 ? empty : first(g.coordinates, line);
    case 'Polygon': return g.coordinates.length === 0 ? empty : first(g.coordinates, ring);
    case 'MultiPolygon': return g.coordinates.length === 0 || g.coordinates.some((p) => p.length === 0) ? empty : first(g.coordinates, (p) => first(p, ring));
    case 'GeometryCollection': return g.geometries.length === 0 ? empty : first(g.geometries, shapeProblem);
  }
}

export function wktParam(value: string, name: string): Geometry {
  const { geometry: g, problem: unread } = readWkt(value);
  if (unread !== undefined) throw badParameter(name, unread);
  if (!allFinite(g)) throw badParameter(name, 'is not valid WKT');
  const problem = shapeProblem(g);
  if (problem) throw badParameter(name, `is not a valid geometry: ${problem}`);
  return g;
}

/** The most resources one tile or image request names (MVT layers, styles to composite). */
export const MAX_RESOURCES = 64;

/** Whether decimal ids name one resource twice, written alike or not ("2" and "02"). */
function namesTwice(ids: string[]): boolean {
  return new Set(ids.map(BigInt)).size !== ids.length;
}

/** A comma-separated list of resource ids (`resource=`), each named once, at most MAX_RESOURCES. */
export function resourceListParam(value: string | undefined, name = 'resource'): string[] {
  if (!value) throw badParameter(name, 'is required');
  const ids = value.split(',').map((s) => s.trim());
  if (ids.some((id) => !/^\d+$/.test(id))) throw badParameter(name, 'must be resource ids separated by commas');
  if (ids.length > MAX_RESOURCES) throw badParameter(name, `lists more than ${MAX_RESOURCES} resources`);
  if (namesTwice(ids)) throw badParameter(name, 'lists a resource twice');
  return ids;
}

/** A comma-separated list of field names, each one checked against the layer's fields. */
export function fieldsParam(value: string | undefined, known: string[], name = 'fields'): string[] {
  if (value === undefined) return known;
  if (value === '') return [];
  const wanted = value.split(',').map((s) => s.trim());
  const unknown = wanted.filter((f) => !known.includes(f));
  if (unknown.length) throw badParameter(name, `names unknown fields: ${unknown.join(', ')}`);
  return wanted;
}
