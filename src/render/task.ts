// Worker task "render.png": the styled layers over a frame, as PNG bytes (moved, not copied), or
// null when nothing is drawn. Layer data arrives through the pool (see layers.ts).
import type { TaskHandler } from '../pool/pool.js';
import type { RenderLayerData } from './layer-render.js';
import { renderLayers } from './layer-render.js';
import type { Style } from './style.js';
import type { Frame } from './units.js';

export const RENDER_TASK = 'render.png';

export interface RenderRequest {
  frame: Frame;
  /** Lower first: the pool key of each layer's data and the style to draw it with. */
  layers: { key: string; style: Style }[];
}

const renderTask: TaskHandler<RenderRequest, Uint8Array | null> = async (request, ctx) => {
  const png = await renderLayers(request.frame, request.layers.map((l) => ({ data: ctx.layer<RenderLayerData>(l.key), style: l.style })));
  if (!png) return null;
  const body = new Uint8Array(png);
  ctx.transfer(body.buffer as ArrayBuffer);
  return body;
};
export default renderTask;
