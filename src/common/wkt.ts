// Reading WKT the way GEOS (NextGIS Web's shapely) and PostGIS do: wkx parses one geometry and
// ignores whatever follows it, which they refuse.
import type { Geometry } from 'geojson';
import wkx from 'wkx';
import WktParser from 'wkx/lib/wktparser.js';

// wkx (0.5) tests each token with `value.substring(position).indexOf(token) === 0`, which searches
// the whole rest of the text when the token is not there: a ")" looked for after every vertex
// made a 100,000-vertex polygon cost 2 s of the main thread (identify takes them from anyone).
// The same test, at the position only:
WktParser.prototype.match = function (tokens) {
  this.skipWhitespaces();
  const token = tokens.find((t) => this.value.startsWith(t, this.position));
  if (token === undefined) return null;
  this.position += token.length;
  return token;
};
WktParser.prototype.isMatch = function (tokens) {
  return this.match(tokens) !== null;
};

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
