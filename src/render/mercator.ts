// Web Mercator (EPSG:3857) on the sphere, as metres, to and from EPSG:4326 degrees.
const EARTH_RADIUS = 6378137;
/** Half the width of the Web Mercator world, in metres. */
export const MERCATOR_HALF = Math.PI * EARTH_RADIUS;
const MAX_LAT = 85.0511287798066;

export const mercatorX = (lon: number): number => (lon * Math.PI / 180) * EARTH_RADIUS;

export function mercatorY(lat: number): number {
  const phi = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI / 180;
  return Math.log(Math.tan(Math.PI / 4 + phi / 2)) * EARTH_RADIUS;
}

export const lonOf = (x: number): number => (x / EARTH_RADIUS) * 180 / Math.PI;
export const latOf = (y: number): number => Math.atan(Math.sinh(y / EARTH_RADIUS)) * 180 / Math.PI;
