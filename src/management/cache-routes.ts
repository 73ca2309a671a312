// /cache/: the QGIS project cache, in py-qgis-server's management API shapes.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { ApiError } from '../http/errors.js';
import { crsLabel } from '../qgis/project.js';
import type { CachedProject } from '../qgis/project-cache.js';
import type { Services } from '../services.js';
import { managementRouter, type ManagementGuard } from './access.js';

/** py-qgis-server prints times with Python's isoformat(): seconds precision and an offset. */
export function isoTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, '+00:00');
}

export function cacheLink(ctx: Context, key: string): string {
  return `${ctx.protocol}://${ctx.host}/cache/${encodeURIComponent(key)}`;
}

function summary(entry: CachedProject) {
  const { project } = entry;
  return {
    cache_key: entry.key,
    filename: project.filename,
    title: project.title,
    bad_layers_count: project.layers.filter((l) => !l.valid).length,
    crs: crsLabel(project.crs),
    last_modified: isoTime(project.lastModified),
    layers: project.layers.map((l) => ({
      id: l.id, name: l.name, source: l.datasource, crs: crsLabel(l.crs), valid: l.valid, spatial: l.spatial,
    })),
  };
}

function uriOf(ctx: Context): string {
  const uri = ctx.params.uri ?? ctx.query.MAP;
  if (typeof uri !== 'string' || !uri) throw new ApiError(400, 'MISSING_PROJECT', 'Missing project specification.');
  return uri;
}

export function cacheRoutes(services: Services, guard: ManagementGuard): Router {
  const router = managementRouter(guard);
  const { projects } = services;

  router.get('/cache/', (ctx) => {
    // ?MAP=uri asks for one project, as py-qgis-server allows.
    if (ctx.query.MAP !== undefined) return project(ctx);
    ctx.body = {
      cached: projects.list().map((e) => ({ name: e.key, last_modified: isoTime(e.project.lastModified), link: cacheLink(ctx, e.key) })),
    };
  });

  async function project(ctx: Context) {
    ctx.body = summary(await projects.get(uriOf(ctx)));
  }
  router.get('/cache/content/*uri', project);
  router.get('/cache/*uri', project);

  router.put('/cache/*uri', async (ctx) => {
    ctx.body = summary(await projects.refresh(uriOf(ctx)));
  });

  router.delete('/cache/*uri', (ctx) => {
    const uri = uriOf(ctx);
    if (!projects.evict(uri)) throw new ApiError(404, 'PROJECT_NOT_CACHED', `Project "${uri}" is not in the cache.`);
    ctx.body = { status: 'ok' };
  });
  return router;
}
