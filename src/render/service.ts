// Rendering style resources for a frame: permission checks on each style and its layer, the
// features in view projected to frame pixels, and the render itself (see `runRender`).
import type { Context } from 'koa';
import type { ResourceEntry } from '../catalog/types.js';
import { ApiError } from '../http/errors.js';
import { featureLayerOf, resourceFor } from '../http/resources.js';
import type { Services } from '../services.js';
import type { FeatureLayer } from '../store/types.js';
import { queryBox } from './frame.js';
import { PixelGeometryBuilder } from './geometries.js';
import { renderPng, type RenderJob } from './render.js';
import type { StyleBook } from './styles.js';
import { reachOf } from './svg.js';
import type { Style } from './style.js';
import type { Frame } from './units.js';

export interface StyledLayer {
  styleEntry: ResourceEntry;
  layerEntry: ResourceEntry;
  style: Style;
  layer: FeatureLayer;
}

/**
 * The styles named by `ids`, in order, each checked for data.read together with its parent layer
 * (a style must not show a layer its caller may not read).
 */
export async function styledLayers(ctx: Context, services: Services, book: StyleBook, ids: string[], param: string): Promise<StyledLayer[]> {
  const out: StyledLayer[] = [];
  for (const id of ids) {
    const styleEntry = resourceFor(ctx, services, id, 'data.read', param);
    if (!services.catalog.classOf(styleEntry).style) {
      throw new ApiError(422, 'NOT_A_STYLE', `Resource ${styleEntry.id} is a ${styleEntry.cls}, not a style.`);
    }
    const layerEntry = resourceFor(ctx, services, String(styleEntry.parent), 'data.read', param);
    out.push({ styleEntry, layerEntry, style: book.styleOf(styleEntry), layer: await featureLayerOf(services, layerEntry) });
  }
  return out;
}

/** Features of each layer in the frame (widened by the style's reach), in frame pixels. */
export async function renderJob(layers: StyledLayer[], frame: Frame): Promise<RenderJob> {
  const job: RenderJob = { frame, layers: [] };
  for (const { style, layer } of layers) {
    const builder = new PixelGeometryBuilder(frame, style.fields);
    for await (const f of layer.features({ bbox: queryBox(frame, reachOf(style, frame)) })) builder.add(f.geometry, f.fields);
    job.layers.push({ style, geometries: builder.finish() });
  }
  return job;
}

/**
 * Where the CPU work happens: the single switch point between the main thread and the worker
 * pool (src/render/task.ts is the pool task). Null when nothing is drawn.
 */
export async function runRender(_services: Services, job: RenderJob): Promise<Buffer | null> {
  return renderPng(job);
}
