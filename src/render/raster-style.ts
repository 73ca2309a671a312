// A raster_style resource: how a raster layer's pixels become colours. RGB and RGBA rasters draw as
// they are; a single-band raster needs a colour ramp:
//   "ramp": [[0, "#0000ff"], [100, "#ffff00"], [255, "#ff0000"]], "interpolate": true, "band": 1, "opacity": 1
// Values between stops are interpolated (or take the lower stop when "interpolate" is false);
// values outside the ramp take the nearest end; the GeoTIFF's nodata value is transparent.
import type { ResourceEntry } from '../catalog/types.js';
import { StyleError } from './qml.js';
import type { Rgba } from './style.js';
import { parseColor } from './symbol-layers.js';

export interface RasterStyle {
  /** Stops sorted by value; null for RGB(A) rasters. */
  ramp: { value: number; color: Rgba }[] | null;
  interpolate: boolean;
  /** 1-based band the ramp reads. */
  band: number;
  opacity: number;
}

export function parseRasterStyle(entry: ResourceEntry): RasterStyle {
  let ramp: RasterStyle['ramp'] = null;
  if (entry.ramp !== undefined) {
    if (!Array.isArray(entry.ramp) || entry.ramp.length === 0) throw new StyleError('"ramp" must be a list of [value, colour] stops');
    ramp = entry.ramp.map((stop, i) => {
      const color = Array.isArray(stop) && typeof stop[0] === 'number' && typeof stop[1] === 'string' ? parseColor(stop[1]) : null;
      if (!color) throw new StyleError(`ramp stop ${i} must be [number, "#rrggbb[aa]" or "r,g,b,a"]`);
      return { value: stop[0] as number, color };
    }).sort((a, b) => a.value - b.value);
  }
  const band = entry.band ?? 1;
  if (!Number.isInteger(band) || (band as number) < 1) throw new StyleError('"band" must be a band number from 1');
  const opacity = entry.opacity ?? 1;
  if (typeof opacity !== 'number' || opacity < 0 || opacity > 1) throw new StyleError('"opacity" must be between 0 and 1');
  return { ramp, interpolate: entry.interpolate !== false, band: band as number, opacity };
}

/** RGBA 0–255 for a value on the ramp. */
export function rampColour(style: RasterStyle, value: number, out: Uint8Array | Buffer, at: number): void {
  const ramp = style.ramp!;
  let k = 0;
  while (k < ramp.length - 1 && value >= ramp[k + 1].value) k++;
  const lo = ramp[k], hi = ramp[Math.min(k + 1, ramp.length - 1)];
  const t = !style.interpolate || hi === lo || value <= lo.value ? 0 : Math.min(1, (value - lo.value) / (hi.value - lo.value));
  for (let c = 0; c < 3; c++) out[at + c] = Math.round(lo.color[c] + (hi.color[c] - lo.color[c]) * t);
  out[at + 3] = Math.round(255 * (lo.color[3] + (hi.color[3] - lo.color[3]) * t));
}
