// Web Mercator "world" coordinates: x and y in [0, 1] over the whole map, y growing south, as
// XYZ tiles address it. Longitudes beyond ±180 map outside [0, 1] on purpose (antimeridian).

export function worldX(lon: number): number {
  return lon / 360 + 0.5;
}

/** Clamped to [0, 1]: the poles are beyond the Web Mercator square. */
export function worldY(lat: number): number {
  const sin = Math.sin((lat * Math.PI) / 180);
  const y = 0.5 - (0.25 * Math.log((1 + sin) / (1 - sin))) / Math.PI;
  return y < 0 ? 0 : y > 1 ? 1 : y;
}

export function lonOf(x: number): number {
  return (x - 0.5) * 360;
}

/** y outside [0, 1] maps to the pole on that side, so boxes reaching past the square stay whole. */
export function latOf(y: number): number {
  if (y <= 0) return 90;
  if (y >= 1) return -90;
  return (Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180) / Math.PI;
}

export interface SearchBox { shift: number; minLon: number; minLat: number; maxLon: number; maxLat: number }

/**
 * The lon/lat boxes to search for tile z/x/y with its padding, one per world shift (-1, 0, +1)
 * that can reach data within [dataMinLon, dataMaxLon]: near the antimeridian a tile's buffer
 * shows what lies across the seam, drawn one world width away.
 */
export function searchBoxes(z: number, x: number, y: number, padding: number, dataMinLon: number, dataMaxLon: number): SearchBox[] {
  const n = 2 ** z;
  const x0 = (x - padding) / n, x1 = (x + 1 + padding) / n;
  const maxLat = latOf((y - padding) / n), minLat = latOf((y + 1 + padding) / n);
  const boxes: SearchBox[] = [];
  for (const shift of [0, -1, 1]) {
    const minLon = lonOf(x0 - shift), maxLon = lonOf(x1 - shift);
    if (maxLon >= dataMinLon && minLon <= dataMaxLon) boxes.push({ shift, minLon, minLat, maxLon, maxLat });
  }
  return boxes;
}

/** Projects interleaved lon/lat pairs into a new array of world x/y pairs. */
export function projectCoords(lonLat: Float64Array, out: Float64Array): void {
  for (let i = 0; i < lonLat.length; i += 2) {
    out[i] = worldX(lonLat[i]);
    out[i + 1] = worldY(lonLat[i + 1]);
  }
}
