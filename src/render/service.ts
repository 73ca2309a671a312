// The style resources a render request names, each checked for data.read together with its parent
// layer (a style must not show a layer its caller may not read); the drawing is renderer.ts's.
// A QGIS project (checked for data.read) stands for its layers, drawn with their embedded styles.
import type { Context } from 'koa';
import { resourceFor } from '../http/resources.js';
import { projectOf, projectVectorLayers, type LayerSelection } from '../qgis/project-resource.js';
import type { Services } from '../services.js';
import { styleKind, type StyledLayer } from './renderer.js';

/** `select` (the `layers` parameter) picks among the layers of the projects named. */
export async function styledLayers(ctx: Context, services: Services, ids: string[], param: string, select?: LayerSelection): Promise<StyledLayer[]> {
  const out: StyledLayer[] = [];
  for (const id of ids) {
    const styleEntry = resourceFor(ctx, services, id, 'data.read', param);
    if (services.catalog.classOf(styleEntry).qgisProject) {
      const project = await projectOf(services, styleEntry);
      out.push(...services.renderer.projectLayers(styleEntry, project.key, await projectVectorLayers(services.log, project, 'render', select)));
      continue;
    }
    styleKind(services.catalog, styleEntry);
    resourceFor(ctx, services, String(styleEntry.parent), 'data.read', param);
    out.push(await services.renderer.styledLayer(styleEntry));
  }
  select?.checkAllMatched();
  return out;
}
