// The renderer as pure functions: styles and features in frame pixels in, PNG out. Nothing here
// touches the server, so it runs unchanged in a worker thread.
import { encodePng, rasterizeSvg, type Rgba8 } from './png.js';
import { renderSvg, type RenderLayer } from './svg.js';
import type { Frame } from './units.js';

export interface RenderJob {
  frame: Frame;
  /** Lower first. */
  layers: RenderLayer[];
}

/** The RGBA pixels of the job; null when nothing is drawn. */
export async function renderRgba(job: RenderJob): Promise<Rgba8 | null> {
  const svg = renderSvg(job.layers, job.frame);
  return svg ? rasterizeSvg(svg) : null;
}

/** The PNG of the job; null when nothing is drawn (answer with the cached empty tile). */
export async function renderPng(job: RenderJob): Promise<Buffer | null> {
  const rgba = await renderRgba(job);
  return rgba ? encodePng(rgba) : null;
}
