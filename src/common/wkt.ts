// Reading WKT the way GEOS (NextGIS Web's shapely) and PostGIS do: wkx parses one geometry and
// ignores whatever follows it, which they refuse.
import type { Geometry } from 'geojson';
import wkx from 'wkx';

/** The geometry `text` holds as GeoJSON, or undefined with `problem` saying why not. */
export function readWkt(text: string): { geometry: Geometry; problem?: undefined } | { geometry?: undefined; problem: string } {
  let geometry: Geometry;
  try {
    geometry = wkx.Geometry.parse(text).toGeoJSON() as Geometry;
  } catch {
    return { problem: 'is not valid WKT' };
  }
  return textAfterGeometry(text) ? { problem: 'is not valid WKT (text follows the geometry)' } : { geometry };
}

function textAfterGeometry(wkt: string): boolean {
  let depth = 0;
  for (let i = wkt.indexOf('('); i >= 0 && i < wkt.length; i++) {
    const c = wkt.charCodeAt(i);
    if (c === 0x28) depth++;
    else if (c === 0x29 && --depth === 0) return wkt.slice(i + 1).trim() !== '';
  }
  return false;
}
