// Rendering style resources for a frame: permission checks on each style and its layer, then the
// render itself in the worker pool (task.ts).
import type { Context } from 'koa';
import type { ResourceEntry } from '../catalog/types.js';
import { ApiError } from '../http/errors.js';
import { featureLayerOf, resourceFor } from '../http/resources.js';
import { projectOf, projectVectorLayers, type LayerSelection } from '../qgis/project-resource.js';
import type { Services } from '../services.js';
import type { FeatureLayer } from '../store/types.js';
import type { LayerRef } from '../tiling/layers.js';
import type { RenderLayers } from './layers.js';
import type { RasterInfo } from './raster.js';
import type { RasterStyle } from './raster-style.js';
import type { Style } from './style.js';
import type { StyleBook } from './styles.js';
import { RENDER_TASK, type RenderRequest } from './task.js';
import type { Frame } from './units.js';

export type StyledLayer = { styleEntry: ResourceEntry; layerEntry: ResourceEntry } & (
  /** `ref`: whose data the workers hold, the layer's id or a QGIS project layer's ref. */
  | { kind: 'vector'; style: Style; layer: FeatureLayer; ref: LayerRef }
  | { kind: 'raster'; style: RasterStyle; raster: RasterInfo });

/** A QGIS project's vector layers with the styles embedded in it, in the project's drawing order. */
async function projectStyledLayers(services: Services, book: StyleBook, entry: ResourceEntry, select?: LayerSelection): Promise<StyledLayer[]> {
  const project = await projectOf(services, entry);
  const out: StyledLayer[] = [];
  for (const l of await projectVectorLayers(services, project, 'render', select)) {
    const style = book.projectLayerStyle(project.key, l.info);
    if (style) out.push({ kind: 'vector', styleEntry: entry, layerEntry: entry, style, layer: l.layer, ref: l.ref });
  }
  return out;
}

/**
 * The styles named by `ids`, in order, each checked for data.read together with its parent layer
 * (a style must not show a layer its caller may not read). A QGIS project (checked for data.read)
 * stands for its layers, drawn with their embedded styles; `select` picks among them.
 */
export async function styledLayers(ctx: Context, services: Services, book: StyleBook, ids: string[], param: string, select?: LayerSelection): Promise<StyledLayer[]> {
  const out: StyledLayer[] = [];
  for (const id of ids) {
    const styleEntry = resourceFor(ctx, services, id, 'data.read', param);
    if (services.catalog.classOf(styleEntry).qgisProject) {
      out.push(...await projectStyledLayers(services, book, styleEntry, select));
      continue;
    }
    const styles = services.catalog.classOf(styleEntry).styles;
    if (!styles) throw new ApiError(422, 'NOT_A_STYLE', `Resource ${styleEntry.id} is a ${styleEntry.cls}, not a style.`);
    const layerEntry = resourceFor(ctx, services, String(styleEntry.parent), 'data.read', param);
    out.push(styles === 'rasterLayer'
      ? { kind: 'raster', styleEntry, layerEntry, style: book.rasterStyleOf(styleEntry), raster: await book.rasterOf(layerEntry) }
      : { kind: 'vector', styleEntry, layerEntry, style: book.styleOf(styleEntry), layer: await featureLayerOf(services, layerEntry), ref: layerEntry.id });
  }
  select?.checkAllMatched();
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
    const source = sources.source(l.ref, l.layer);
    shipped.push(source);
    request.layers.push({ kind: 'vector', key: source.key, style: l.style });
  }
  const png = await services.pool.run<Uint8Array | null>(RENDER_TASK, request, { layers: shipped });
  return png && Buffer.from(png.buffer, png.byteOffset, png.byteLength);
}
