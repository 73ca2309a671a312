// /cache/: the QGIS project cache, in py-qgis-server's management API shapes.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { ApiError } from '../http/errors.js';
import { isoTime } from '../qgis/summary.js';
import type { Services } from '../services.js';
import { managementRouter, type ManagementGuard } from './access.js';

export function cacheLink(ctx: Context, key: string): string {
  return `${ctx.protocol}://${ctx.host}/cache/${encodeURIComponent(key)}`;
}

function uriOf(ctx: Context): string {
  const uri = ctx.params.uri ?? ctx.query.MAP;
  if (typeof uri !== 'string' || !uri) throw new ApiError(400, 'MISSING_PROJECT', 'Missing project specification.');
  return uri;
}

export function cacheRoutes(services: Services, guard: ManagementGuard): Router {
  const router = managementRouter(guard);
  const { projects, projectWorkers } = services;

  router.get('/cache/', (ctx) => {
    // ?MAP=uri asks for one project, as py-qgis-server allows.
    if (ctx.query.MAP !== undefined) return project(ctx);
    ctx.body = {
      cached: projects.list().map((e) => ({ name: e.key, last_modified: isoTime(e.project.lastModified), link: cacheLink(ctx, e.key) })),
    };
  });

  // The main thread loads (or reloads) the project; a worker answers, from the same version, as in py-qgis-server.
  async function project(ctx: Context) {
    ctx.body = await projectWorkers.summary((await projects.get(uriOf(ctx))).key);
  }
  router.get('/cache/content/*uri', project);
  router.get('/cache/*uri', project);

  router.put('/cache/*uri', async (ctx) => {
    const { key } = await projects.refresh(uriOf(ctx));
    await projectWorkers.sync();
    ctx.body = await projectWorkers.summary(key);
  });

  router.delete('/cache/*uri', async (ctx) => {
    const uri = uriOf(ctx);
    if (!projects.evict(uri)) throw new ApiError(404, 'PROJECT_NOT_CACHED', `Project "${uri}" is not in the cache.`);
    await projectWorkers.sync();
    ctx.body = { status: 'ok' };
  });
  return router;
}
