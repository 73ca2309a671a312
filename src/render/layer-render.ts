// Everything the render task does, as plain functions (the bench calls them directly): vector
// layers from their packed data to frame pixels and SVG, raster layers from their GeoTIFF, each
// run of consecutive vector styles rasterized together, then composited lower to upper.
// `throwIfAbandoned` (the worker's, see TaskContext) stops the work once whoever asked has gone.
import { valueAt, type Column } from '../store/columns.js';
import { candidates, fromTransfer, geometryAt, type PackedGeometry, type PackedTransfer } from '../store/packed.js';
import type { FieldValue } from '../store/types.js';
import { queryBox } from './frame.js';
import { PixelGeometryBuilder, type PixelGeometries } from './geometries.js';
import { composite, encodePng, rasterizeSvg, type Rgba8 } from './png.js';
import { renderRaster, type RasterInfo } from './raster.js';
import type { RasterStyle } from './raster-style.js';
import type { Style } from './style.js';
import { reachOf, renderSvg, type RenderLayer } from './svg.js';
import type { Frame } from './units.js';

export interface RenderLayerData {
  geometry: PackedTransfer;
  /** Field names, in column order. */
  fields: string[];
  columns: Column[];
}

export type RenderPart =
  | { kind: 'vector'; data: RenderLayerData; style: Style }
  | { kind: 'raster'; raster: RasterInfo; style: RasterStyle };

const geometries = new WeakMap<RenderLayerData, PackedGeometry>();

/** The features of `data` that can paint into the frame under `style`, in frame pixels. */
export function pixelGeometries(data: RenderLayerData, style: Style, frame: Frame, throwIfAbandoned?: () => void): PixelGeometries {
  let g = geometries.get(data);
  if (!g) geometries.set(data, (g = fromTransfer(data.geometry)));
  const builder = new PixelGeometryBuilder(frame, style.fields);
  const columns = style.fields.map((name) => [name, data.fields.indexOf(name)] as const);
  const [minx, miny, maxx, maxy] = queryBox(frame, reachOf(style, frame));
  const rows = candidates(g, minx, miny, maxx, maxy);
  for (let i = 0; i < rows.length; i++) {
    if ((i & 1023) === 0) throwIfAbandoned?.();
    const row = rows[i];
    const values: Record<string, FieldValue> = {};
    for (const [name, k] of columns) values[name] = k < 0 ? null : valueAt(data.columns[k], row);
    builder.add(geometryAt(g, row), values);
  }
  return builder.finish();
}

/**
 * The PNG of the parts (lower first) over the frame; null when nothing is drawn. Rasterizing an SVG
 * is one call into librsvg that cannot be stopped (most of a large image's time: some 90% of a
 * 4096² render of 200,000 points), so abandonment is checked in the loops before it and between steps.
 */
export async function renderParts(frame: Frame, parts: RenderPart[], throwIfAbandoned?: () => void): Promise<Buffer | null> {
  const images: Rgba8[] = [];
  let vectors: RenderLayer[] = [];
  const flushVectors = async () => {
    const svg = vectors.length ? renderSvg(vectors, frame, throwIfAbandoned) : null;
    throwIfAbandoned?.();
    if (svg) images.push(await rasterizeSvg(svg));
    vectors = [];
  };
  for (const part of parts) {
    if (part.kind === 'vector') {
      vectors.push({ style: part.style, geometries: pixelGeometries(part.data, part.style, frame, throwIfAbandoned) });
      continue;
    }
    await flushVectors();
    throwIfAbandoned?.();
    const image = await renderRaster(part.raster, part.style, frame);
    if (image) images.push(image);
  }
  await flushVectors();
  if (!images.length) return null;
  throwIfAbandoned?.();
  return encodePng(images.length === 1 ? images[0] : await composite(images));
}
