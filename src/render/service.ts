// The style resources a render request names, each checked for data.read together with its parent
// layer (a style must not show a layer its caller may not read); the drawing is renderer.ts's.
import type { Context } from 'koa';
import { resourceFor } from '../http/resources.js';
import type { Services } from '../services.js';
import { styleKind, type StyledLayer } from './renderer.js';

export async function styledLayers(ctx: Context, services: Services, ids: string[], param: string): Promise<StyledLayer[]> {
  const out: StyledLayer[] = [];
  for (const id of ids) {
    const styleEntry = resourceFor(ctx, services, id, 'data.read', param);
    styleKind(services.catalog, styleEntry);
    resourceFor(ctx, services, String(styleEntry.parent), 'data.read', param);
    out.push(await services.renderer.styledLayer(styleEntry));
  }
  return out;
}
