// XYZ tile addresses (EPSG:3857 tiling scheme), shared by every tile endpoint and by seeding.
import { intParam } from '../http/params.js';

export const MAX_ZOOM = 24;

export interface TileAddress {
  z: number;
  x: number;
  y: number;
}

/** A validated address from request text: 400 naming z, x or y when out of range or not an integer. */
export function tileAddress(z: unknown, x: unknown, y: unknown): TileAddress {
  const zoom = intParam(z, 'z', 0, MAX_ZOOM);
  const last = 2 ** zoom - 1;
  return { z: zoom, x: intParam(x, 'x', 0, last), y: intParam(y, 'y', 0, last) };
}
