// Rendering style resources for a frame: permission checks on each style and its layer, then the
// render itself in the worker pool (task.ts).
import type { Context } from 'koa';
import type { ResourceEntry } from '../catalog/types.js';
import { ApiError } from '../http/errors.js';
import { featureLayerOf, resourceFor } from '../http/resources.js';
import type { Services } from '../services.js';
import type { FeatureLayer } from '../store/types.js';
import type { RenderLayers } from './layers.js';
import type { RasterInfo } from './raster.js';
import type { RasterStyle } from './raster-style.js';
import type { Style } from './style.js';
import type { StyleBook } from './styles.js';
import { RENDER_TASK, type RenderRequest } from './task.js';
import type { Frame } from './units.js';

export type StyledLayer = { styleEntry: ResourceEntry; layerEntry: ResourceEntry } & (
  | { kind: 'vector'; style: Style; layer: FeatureLayer }
  | { kind: 'raster'; style: RasterStyle; raster: RasterInfo });

/**
 * The styles named by `ids`, in order, each checked for data.read together with its parent layer
 * (a style must not show a layer its caller may not read).
 */
export async function styledLayers(ctx: Context, services: Services, book: StyleBook, ids: string[], param: string): Promise<StyledLayer[]> {
  const out: StyledLayer[] = [];
  for (const id of ids) {
    const styleEntry = resourceFor(ctx, services, id, 'data.read', param);
    const styles = services.catalog.classOf(styleEntry).styles;
    if (!styles) throw new ApiError(422, 'NOT_A_STYLE', `Resource ${styleEntry.id} is a ${styleEntry.cls}, not a style.`);
    const layerEntry = resourceFor(ctx, services, String(styleEntry.parent), 'data.read', param);
    out.push(styles === 'rasterLayer'
      ? { kind: 'raster', styleEntry, layerEntry, style: book.rasterStyleOf(styleEntry), raster: await book.rasterOf(layerEntry) }
      : { kind: 'vector', styleEntry, layerEntry, style: book.styleOf(styleEntry), layer: await featureLayerOf(services, layerEntry) });
  }
  return out;
}

/** The PNG of the styled layers over the frame, drawn in the worker pool; null when nothing is drawn. */
export async function renderInPool(services: Services, sources: RenderLayers, layers: StyledLayer[], frame: Frame): Promise<Buffer | null> {
  const request: RenderRequest = { frame, layers: [] };
  const shipped = [];
  for (const l of layers) {
    if (l.kind === 'raster') {
      request.layers.push({ kind: 'raster', raster: l.raster, style: l.style });
      continue;
    }
    const source = sources.source(l.layerEntry.id, l.layer);
    shipped.push(source);
    request.layers.push({ kind: 'vector', key: source.key, style: l.style });
  }
  const png = await services.pool.run<Uint8Array | null>(RENDER_TASK, request, { layers: shipped });
  return png && Buffer.from(png.buffer, png.byteOffset, png.byteLength);
}
