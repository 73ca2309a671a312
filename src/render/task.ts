// Worker task "render.png": styled layers over a frame, as PNG bytes (moved, not copied), or null
// when nothing is drawn. Vector layer data arrives through the pool (see layers.ts); rasters are
// read from their GeoTIFF by the worker.
import type { TaskHandler } from '../pool/pool.js';
import { renderParts, type RenderLayerData, type RenderPart } from './layer-render.js';
import type { RasterInfo } from './raster.js';
import type { RasterStyle } from './raster-style.js';
import type { Style } from './style.js';
import type { Frame } from './units.js';

export const RENDER_TASK = 'render.png';

export type RenderRequestLayer =
  | { kind: 'vector'; /** pool key of the layer's data */ key: string; style: Style }
  | { kind: 'raster'; raster: RasterInfo; style: RasterStyle };

export interface RenderRequest {
  frame: Frame;
  /** Lower first. */
  layers: RenderRequestLayer[];
}

const renderTask: TaskHandler<RenderRequest, Uint8Array | null> = async (request, ctx) => {
  const parts = request.layers.map((l): RenderPart => (l.kind === 'vector'
    ? { kind: 'vector', data: ctx.layer<RenderLayerData>(l.key), style: l.style }
    : l));
  const png = await renderParts(request.frame, parts, () => ctx.throwIfAbandoned());
  if (!png) return null;
  const body = new Uint8Array(png);
  ctx.transfer(body.buffer as ArrayBuffer);
  return body;
};
export default renderTask;
