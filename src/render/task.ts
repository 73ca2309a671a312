// The render task as the worker pool runs it: a RenderJob in, PNG bytes (or null) out.
import { renderPng, type RenderJob } from './render.js';

export default async function renderTask(job: RenderJob): Promise<Uint8Array | null> {
  return renderPng(job);
}
