// The identify request body, checked field by field: {"geom", "srs", "layers"} as NextGIS Web
// takes it, plus Meridian's optional "limit" and "tolerance".
import { ApiError, badParameter } from '../http/errors.js';
import { srsParam } from '../http/params.js';
import { transform, transformGeometry } from '../store/crs.js';
import { PreparedArea } from './area.js';
import { allFinite, invalidGeometry, isPolygonal, parseShape, type Shape } from './shape.js';
import { bufferShape } from './tolerance.js';

/** Documented caps (README, "Identify"). */
export const IDENTIFY_CAPS = {
  maxVertices: 100_000,
  maxLayers: 100,
  /** NextGIS Web identifies at most 100 features per layer. */
  defaultLimit: 100,
  maxLimit: 10_000,
};

export interface IdentifyRequest {
  area: PreparedArea;
  /** Distinct layer ids, in the order given. */
  layers: number[];
  limit: number;
}

function srsOf(value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value)) return srsParam(String(value), 0);
  if (typeof value === 'string' && value.trim() !== '') return srsParam(value, 0);
  throw badParameter('srs', 'must be an EPSG code such as 3857 or 4326');
}

function layersOf(value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0) throw badParameter('layers', 'must be a non-empty array of layer ids');
  if (value.some((v) => !Number.isSafeInteger(v) || (v as number) < 0)) throw badParameter('layers', 'must hold resource ids (non-negative integers)');
  const ids = [...new Set(value as number[])];
  if (ids.length > IDENTIFY_CAPS.maxLayers) {
    throw new ApiError(400, 'TOO_MANY_LAYERS', `Parameter "layers" names ${ids.length} layers; identify takes at most ${IDENTIFY_CAPS.maxLayers}.`);
  }
  return ids;
}

function limitOf(value: unknown): number {
  if (value === undefined || value === null) return IDENTIFY_CAPS.defaultLimit;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > IDENTIFY_CAPS.maxLimit) {
    throw badParameter('limit', `must be an integer between 1 and ${IDENTIFY_CAPS.maxLimit}`);
  }
  return value as number;
}

function toleranceOf(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw badParameter('tolerance', 'must be a non-negative number (map units of srs)');
  return value;
}

/** The area in EPSG:4326, from the client's WKT in its srs, grown by the tolerance for points and lines. */
function areaOf(wkt: string, srs: number, tolerance: number): PreparedArea {
  const shape = parseShape(wkt, IDENTIFY_CAPS.maxVertices);
  if (tolerance > 0 && isPolygonal(shape)) throw badParameter('tolerance', 'applies to POINT and LINESTRING shapes only');
  const grown: Shape = tolerance > 0 ? bufferShape(shape, tolerance) : shape;
  const wgs84 = transformGeometry(grown, transform(srs, 4326)) as Shape;
  if (!allFinite(wgs84)) throw invalidGeometry(`lies outside the area where EPSG:${srs} is defined`);
  return new PreparedArea(wgs84);
}

export function parseIdentifyRequest(b: Record<string, unknown>): IdentifyRequest {
  for (const key of ['geom', 'srs', 'layers']) if (b[key] === undefined) throw badParameter(key, 'is required');
  if (typeof b.geom !== 'string') throw badParameter('geom', 'must be a WKT string');
  const srs = srsOf(b.srs);
  const layers = layersOf(b.layers);
  const limit = limitOf(b.limit);
  return { area: areaOf(b.geom, srs, toleranceOf(b.tolerance)), layers, limit };
}
