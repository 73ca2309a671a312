// The identify request body, checked field by field: {"geom", "srs", "layers"} as NextGIS Web
// takes it, plus Meridian's optional "limit" and "tolerance".
import { ApiError, badParameter } from '../http/errors.js';
import { srsParam } from '../http/params.js';
import { transform, transformGeometry } from '../store/crs.js';
import { bboxOf } from '../store/memory-layer.js';
import { allFinite, inWorld } from '../common/coordinates.js';
import { invalidGeometry, isPolygonal, parseShape, positionsOf, type Shape } from './shape.js';
import { bufferShape } from './tolerance.js';

/** Documented caps (README, "Identify"). */
export const IDENTIFY_CAPS = {
  maxVertices: 100_000,
  /**
   * A shape grown by a tolerance: a click or a short line. JSTS's buffer costs more than linearly
   * with the shape's crossings (a random line of 64 vertices took 0.4 s on the main thread, of 500
   * half a minute).
   */
  maxToleranceVertices: 16,
  maxLayers: 100,
  /** NextGIS Web identifies at most 100 features per layer. */
  defaultLimit: 100,
  maxLimit: 10_000,
};

/** The shape as the client sent it: read by `shapeOf`, on the main thread or in a worker (identify/offload.ts). */
export interface ShapeRequest {
  wkt: string;
  srs: number;
  tolerance: number;
}

export interface IdentifyRequest {
  shape: ShapeRequest;
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

/** Tolerances under this count as none. */
const MIN_TOLERANCE = 1e-9;

function toleranceOf(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw badParameter('tolerance', 'must be a non-negative number (map units of srs)');
  // Far below any map's precision (a tenth of a millimetre in degrees), and too small for the buffer's arithmetic.
  return value < MIN_TOLERANCE ? 0 : value;
}

/** The shape grown by `tolerance`; as it is when the tolerance is too small to make an area. */
function grown(shape: Shape, tolerance: number): Shape {
  const vertices = positionsOf(shape).length;
  if (vertices > IDENTIFY_CAPS.maxToleranceVertices) {
    throw new ApiError(400, 'TOO_MANY_VERTICES', `Parameter "geom" has ${vertices} vertices; a tolerance grows shapes of at most ${IDENTIFY_CAPS.maxToleranceVertices} (a click or a short line).`);
  }
  const cannot = () => invalidGeometry('cannot be grown by the tolerance (coordinates too large for it?)');
  let area: Shape;
  try {
    area = bufferShape(shape, tolerance);
  } catch {
    throw cannot();
  }
  if (positionsOf(area).length === 0) return shape;
  if (!allFinite(area)) throw cannot();
  return area;
}

/** The shape in EPSG:4326, from the client's WKT in its srs, grown by the tolerance for points and lines. */
export function shapeOf({ wkt, srs, tolerance }: ShapeRequest): Shape {
  const shape = parseShape(wkt, IDENTIFY_CAPS.maxVertices);
  if (tolerance > 0 && isPolygonal(shape)) throw badParameter('tolerance', 'applies to POINT and LINESTRING shapes only');
  const wgs84 = transformGeometry(tolerance > 0 ? grown(shape, tolerance) : shape, transform(srs, 4326)) as Shape;
  if (!allFinite(wgs84) || !inWorld(bboxOf(wgs84))) throw invalidGeometry(`lies outside the area where EPSG:${srs} is defined`);
  return wgs84;
}

/** The request's fields checked; its shape is read apart (`shapeOf`), as it may be long. */
export function parseIdentifyRequest(b: Record<string, unknown>): IdentifyRequest {
  for (const key of ['geom', 'srs', 'layers']) if (b[key] === undefined) throw badParameter(key, 'is required');
  if (typeof b.geom !== 'string') throw badParameter('geom', 'must be a WKT string');
  const srs = srsOf(b.srs);
  const layers = layersOf(b.layers);
  const limit = limitOf(b.limit);
  return { shape: { wkt: b.geom, srs, tolerance: toleranceOf(b.tolerance) }, layers, limit };
}
