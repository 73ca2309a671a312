// /api/resource/, /api/resource/search/ and /api/resource/{id}: the resource tree (NextGIS Web resource API).
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import type { Context } from 'koa';
import { resourceJson } from '../catalog/resource-json.js';
import type { ResourceEntry } from '../catalog/types.js';
import { badParameter } from '../http/errors.js';
import { mayAccess, resourceFor } from '../http/resources.js';
import { resourceSearch } from '../http/resource-search.js';
import { single } from '../http/params.js';
import { projectJson } from '../qgis/project-json.js';
import type { Services } from '../services.js';

/** NGW's order of a listing or a search: by display_name, then id. */
const byDisplayName = (a: ResourceEntry, b: ResourceEntry) => (a.display_name < b.display_name ? -1 : a.display_name > b.display_name ? 1 : a.id - b.id);

export function resourceRoutes(services: Services): Router {
  const router = apiRouter();
  const readable = (ctx: Context) => (entry: ResourceEntry) => mayAccess(ctx, services, entry, 'resource.read');
  // A QGIS project's block needs the project loaded, which the catalog alone cannot say.
  const describe = async (ctx: Context, entry: ResourceEntry) => {
    const json = resourceJson(services, entry, readable(ctx));
    if (services.catalog.classOf(entry).qgisProject) json.qgis_project = await projectJson(services, entry);
    return json;
  };

  // Before /api/resource/:id, which would take "search" for an id.
  router.get('resource.search', '/api/resource/search/', async (ctx) => {
    const search = resourceSearch(ctx.query, services.auth.policy.system.administrator);
    const mayRead = readable(ctx);
    const found = services.catalog.subtreeOf(search.root).filter((e) => search.matches(e) && mayRead(e));
    found.sort(byDisplayName);
    ctx.body = await Promise.all(found.map((e) => (search.full ? describe(ctx, e) : { resource: resourceJson(services, e, mayRead).resource })));
  });

  router.get('resource.collection', '/api/resource/', async (ctx) => {
    const parent = single(ctx.query.parent as string | string[] | undefined);
    if (parent === undefined) throw badParameter('parent', 'is required (the id of the resource whose children to list)');
    const entry = resourceFor(ctx, services, parent, 'resource.read', 'parent');
    ctx.body = await Promise.all(services.catalog.childrenOf(entry.id).filter(readable(ctx)).sort(byDisplayName).map((c) => describe(ctx, c)));
  });

  router.get('resource.item', '/api/resource/:id', async (ctx) => {
    ctx.body = await describe(ctx, resourceFor(ctx, services, ctx.params.id, 'resource.read'));
  });

  return router;
}
