// Click identify: a point or line grown by a tolerance, in the units of the client's map (metres
// in EPSG:3857, degrees in EPSG:4326). The buffer is planar, in the client's own coordinates, so a
// tolerance computed from pixels × resolution means what the client meant.
import jsts from '@turf/jsts';
import type { MultiPolygon, Polygon } from 'geojson';
import type { Shape } from './shape.js';

/** Segments per quarter circle: the buffer's round ends are polygons of 4 × this many sides. */
const QUADRANT_SEGMENTS = 8;

export function bufferShape(shape: Shape, tolerance: number): Polygon | MultiPolygon {
  const geometry = new jsts.GeoJSONReader().read(shape);
  return new jsts.GeoJSONWriter().write(jsts.BufferOp.bufferOp(geometry, tolerance, QUADRANT_SEGMENTS)) as Polygon | MultiPolygon;
}
