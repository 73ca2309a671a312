// Frames for XYZ tiles and for arbitrary EPSG:3857 extents, and the EPSG:4326 box to query for one.
import type { BBox } from '../store/types.js';
import { latOf, lonOf, MERCATOR_HALF } from './mercator.js';
import type { Frame } from './units.js';


/** QGIS Server and the QGIS reference renders draw at 96 DPI. */
export const RENDER_DPI = 96;

export function tileFrame(z: number, x: number, y: number, size = 256): Frame {
  const span = (2 * MERCATOR_HALF) / 2 ** z;
  const minx = -MERCATOR_HALF + x * span, maxy = MERCATOR_HALF - y * span;
  return { width: size, height: size, dpi: RENDER_DPI, extent: [minx, maxy - span, minx + span, maxy] };
}

/** The frame's extent widened by `marginPx` on each side, in EPSG:4326. */
export function queryBox(frame: Frame, marginPx: number): BBox {
  const [minx, miny, maxx, maxy] = frame.extent;
  const m = marginPx * (maxx - minx) / frame.width;
  const lon = (x: number) => Math.max(-180, Math.min(180, lonOf(x)));
  return [lon(minx - m), latOf(miny - m), lon(maxx + m), latOf(maxy + m)];
}
