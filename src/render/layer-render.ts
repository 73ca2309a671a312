// From a layer's packed data to frame pixels for one style, then to PNG: everything the render
// task does, as plain functions (the bench calls them directly).
import { candidates, fromTransfer, geometryAt, type PackedGeometry, type PackedTransfer } from '../store/packed.js';
import type { FieldValue } from '../store/types.js';
import { queryBox } from './frame.js';
import { PixelGeometryBuilder, type PixelGeometries } from './geometries.js';
import { renderPng } from './render.js';
import type { Style } from './style.js';
import { reachOf } from './svg.js';
import type { Frame } from './units.js';

export interface RenderLayerData {
  geometry: PackedTransfer;
  /** Field names, in row order. */
  fields: string[];
  rows: FieldValue[][];
}

const geometries = new WeakMap<RenderLayerData, PackedGeometry>();

/** The features of `data` that can paint into the frame under `style`, in frame pixels. */
export function pixelGeometries(data: RenderLayerData, style: Style, frame: Frame): PixelGeometries {
  let g = geometries.get(data);
  if (!g) geometries.set(data, (g = fromTransfer(data.geometry)));
  const builder = new PixelGeometryBuilder(frame, style.fields);
  const columns = style.fields.map((name) => [name, data.fields.indexOf(name)] as const);
  const [minx, miny, maxx, maxy] = queryBox(frame, reachOf(style, frame));
  for (const row of candidates(g, minx, miny, maxx, maxy)) {
    const values: Record<string, FieldValue> = {};
    for (const [name, k] of columns) values[name] = k < 0 ? null : data.rows[row][k];
    builder.add(geometryAt(g, row), values);
  }
  return builder.finish();
}

/** The PNG of the styled layers (lower first) over the frame; null when nothing is drawn. */
export function renderLayers(frame: Frame, layers: { data: RenderLayerData; style: Style }[]): Promise<Buffer | null> {
  return renderPng({ frame, layers: layers.map(({ data, style }) => ({ style, geometries: pixelGeometries(data, style, frame) })) });
}
