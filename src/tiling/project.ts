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

/** Projects interleaved lon/lat pairs into a new array of world x/y pairs. */
export function projectCoords(lonLat: Float64Array, out: Float64Array): void {
  for (let i = 0; i < lonLat.length; i += 2) {
    out[i] = worldX(lonLat[i]);
    out[i + 1] = worldY(lonLat[i + 1]);
  }
}
