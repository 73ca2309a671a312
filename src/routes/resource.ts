// /api/resource/ and /api/resource/{id}: the resource tree (NextGIS Web resource API).
import Router from '@koa/router';
import type { Context } from 'koa';
import { resourceJson } from '../catalog/resource-json.js';
import type { ResourceEntry } from '../catalog/types.js';
import { badParameter } from '../http/errors.js';
import { mayAccess, resourceFor } from '../http/resources.js';
import { single } from '../http/params.js';
import type { Services } from '../services.js';

export function resourceRoutes(services: Services): Router {
  const router = new Router();
  const readable = (ctx: Context) => (entry: ResourceEntry) => mayAccess(ctx, services, entry, 'resource.read');

  router.get('/api/resource/', (ctx) => {
    const parent = single(ctx.query.parent as string | string[] | undefined);
    if (parent === undefined) throw badParameter('parent', 'is required (the id of the resource whose children to list)');
    const entry = resourceFor(ctx, services, parent, 'resource.read', 'parent');
    ctx.body = services.catalog.childrenOf(entry.id).filter(readable(ctx)).map((c) => resourceJson(services, c, readable(ctx)));
  });

  router.get('/api/resource/:id', (ctx) => {
    ctx.body = resourceJson(services, resourceFor(ctx, services, ctx.params.id, 'resource.read'), readable(ctx));
  });

  return router;
}
