// Checks on the coordinates of a geometry, whoever read it: a client's WKT, a PostGIS row, a transform's output.
import type { BBox, Geometry, Position } from 'geojson';

/**
 * Whether every coordinate is a number (a transform past its CRS's area leaves NaN or Infinity).
 * Walked in place, not flattened: every row a PostGIS layer reads is checked.
 */
export function allFinite(g: Geometry): boolean {
  switch (g.type) {
    case 'Point': return finitePosition(g.coordinates);
    case 'MultiPoint': case 'LineString': return g.coordinates.every(finitePosition);
    case 'MultiLineString': case 'Polygon': return g.coordinates.every((r) => r.every(finitePosition));
    case 'MultiPolygon': return g.coordinates.every((p) => p.every((r) => r.every(finitePosition)));
    case 'GeometryCollection': return g.geometries.every(allFinite);
  }
}

const finitePosition = (p: Position) => p.length >= 2 && p.every(Number.isFinite);

/** Vertices of a geometry, each ring and part counted; walked, not flattened (a country is counted at every quadtree node made). */
export function vertexCount(g: Geometry | null): number {
  const rings = (r: Position[][]) => r.reduce((n, ring) => n + ring.length, 0);
  switch (g?.type) {
    case 'Point': return 1;
    case 'MultiPoint': case 'LineString': return g.coordinates.length;
    case 'MultiLineString': case 'Polygon': return rings(g.coordinates);
    case 'MultiPolygon': return g.coordinates.reduce((n, p) => n + rings(p), 0);
    case 'GeometryCollection': return g.geometries.reduce((n, c) => n + vertexCount(c), 0);
    default: return 0;
  }
}

/**
 * Whether a box in EPSG:4326 lies where longitudes and latitudes mean something: latitudes within
 * the poles, longitudes within two turns either way (a shape across the antimeridian goes past 180).
 */
export function inWorld([x0, y0, x1, y1]: BBox): boolean {
  return x0 >= -720 && x1 <= 720 && y0 >= -90 && y1 <= 90;
}
