// QGIS render units to output pixels, for one frame (its DPI and map scale).
import type { Length } from './style.js';

export interface Frame {
  width: number;
  height: number;
  /** Map extent in EPSG:3857 metres: [minx, miny, maxx, maxy]. */
  extent: [number, number, number, number];
  /** QGIS reference renders and QGIS Server default to 96. */
  dpi: number;
}

/** Pixels per map unit (metre) along x. */
export function pixelsPerMapUnit(frame: Frame): number {
  return frame.width / (frame.extent[2] - frame.extent[0]);
}

/** The scale denominator QGIS shows for this frame (map units are metres in EPSG:3857). */
export function scaleDenominator(frame: Frame): number {
  return (frame.dpi / 0.0254) / pixelsPerMapUnit(frame);
}

export function toPixels(length: Length, frame: Frame): number {
  switch (length.unit) {
    case 'MM': return length.value * frame.dpi / 25.4;
    case 'Point': return length.value * frame.dpi / 72;
    case 'Inch': return length.value * frame.dpi;
    case 'Pixel': return length.value;
    case 'MapUnit':
    case 'RenderMetersInMapUnits': return length.value * pixelsPerMapUnit(frame);
  }
}
