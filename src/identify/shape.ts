// The identify shape as the client sends it: WKT, parsed and checked before any layer is touched.
import type { Geometry, Position } from 'geojson';
import { allFinite } from '../common/coordinates.js';
import { readWkt } from '../common/wkt.js';
import { ApiError } from '../http/errors.js';
import { firstCrossing, MAX_EDGE_TESTS } from './crossing.js';

export type ShapeType = 'Point' | 'MultiPoint' | 'LineString' | 'MultiLineString' | 'Polygon' | 'MultiPolygon';
export type Shape = Extract<Geometry, { type: ShapeType }>;

const SHAPE_TYPES = new Set<string>(['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon'] satisfies ShapeType[]);

/** Whether `g` is of a type identify takes (intersects= takes any geometry). */
export const isShape = (g: Geometry): g is Shape => SHAPE_TYPES.has(g.type);

export const invalidGeometry = (problem: string) =>
  new ApiError(422, 'INVALID_GEOMETRY', `Parameter "geom" ${problem}.`, 'Geometry is not valid');

/** Every position of a shape. */
export function positionsOf(g: Shape): Position[] {
  switch (g.type) {
    case 'Point': return [g.coordinates];
    case 'MultiPoint': case 'LineString': return g.coordinates;
    case 'MultiLineString': case 'Polygon': return g.coordinates.flat();
    case 'MultiPolygon': return g.coordinates.flat(2);
  }
}

/** The rings of a polygonal shape (none for points and lines). */
export function ringsOf(g: Shape): Position[][] {
  if (g.type === 'Polygon') return g.coordinates;
  if (g.type === 'MultiPolygon') return g.coordinates.flat();
  return [];
}

/** The lines of a linear shape (none for points and polygons). */
function linesOf(g: Shape): Position[][] {
  if (g.type === 'LineString') return [g.coordinates];
  if (g.type === 'MultiLineString') return g.coordinates;
  return [];
}

function checkParts(g: Shape): void {
  for (const line of linesOf(g)) if (line.length < 2) throw invalidGeometry('has a line of fewer than 2 points');
  const rings = ringsOf(g);
  if ((g.type === 'Polygon' || g.type === 'MultiPolygon') && rings.length === 0) throw invalidGeometry('is an empty polygon');
  for (const ring of rings) {
    if (ring.length < 4) throw invalidGeometry('has a ring of fewer than 4 points');
    const a = ring[0], b = ring[ring.length - 1];
    if (a[0] !== b[0] || a[1] !== b[1]) throw invalidGeometry('has a ring that is not closed (first and last points differ)');
    if (ring.every((p) => p[0] === a[0] && p[1] === a[1])) throw invalidGeometry('has a ring of one repeated point');
  }
  if (rings.length === 0) return;
  // Edges that cross or touch, across rings or within one (bar the vertex neighbours share).
  const crossing = firstCrossing(rings);
  if (crossing && 'tooIntricate' in crossing) {
    throw invalidGeometry(`is too intricate to check: its edges' boxes overlap in over ${MAX_EDGE_TESTS} pairs`);
  }
  if (crossing) throw invalidGeometry(`intersects itself (near ${crossing.at[0]} ${crossing.at[1]})`);
}

/** Parses and validates the client's WKT: a supported type, finite, closed simple rings, at most `maxVertices`. */
export function parseShape(wkt: string, maxVertices: number): Shape {
  const { geometry: shape, problem } = readWkt(wkt);
  if (problem !== undefined) throw invalidGeometry(problem);
  if (!isShape(shape)) throw invalidGeometry(`is a ${shape.type}; identify takes a POLYGON, MULTIPOLYGON, POINT, LINESTRING or their MULTI forms`);
  const positions = positionsOf(shape);
  if (positions.length === 0) throw invalidGeometry('is empty');
  if (positions.length > maxVertices) {
    throw new ApiError(400, 'TOO_MANY_VERTICES', `Parameter "geom" has ${positions.length} vertices; identify takes at most ${maxVertices}.`);
  }
  if (!allFinite(shape)) throw invalidGeometry('has a coordinate that is not a finite number');
  checkParts(shape);
  return shape;
}

export function isPolygonal(g: Shape): boolean {
  return g.type === 'Polygon' || g.type === 'MultiPolygon';
}
