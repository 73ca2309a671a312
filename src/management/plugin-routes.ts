// /plugins/: server plugins and their load status, in py-qgis-server's management API shapes.
import type Router from '@koa/router';
import { ApiError } from '../http/errors.js';
import type { Services } from '../services.js';
import { managementRouter, type ManagementGuard } from './access.js';

export function pluginRoutes(services: Services, guard: ManagementGuard): Router {
  const router = managementRouter(guard);
  const { plugins } = services;

  router.get('/plugins/', (ctx) => {
    ctx.body = {
      links: [...plugins.records.values()].map((p) => ({
        href: `${ctx.protocol}://${ctx.host}/plugins/${encodeURIComponent(p.name)}`,
        name: p.name,
        status: p.status,
        type: 'application/json',
        title: p.metadata?.general?.description ?? p.name,
      })),
    };
  });

  router.get('/plugins/:name', (ctx) => {
    const p = plugins.records.get(ctx.params.name);
    if (!p) throw new ApiError(404, 'PLUGIN_NOT_FOUND', `Plugin "${ctx.params.name}" does not exist.`);
    ctx.body = p.status === 'loaded'
      // py-qgis-server 1.7 put the path inside metadata, later versions beside it: both are given.
      ? { name: p.name, status: p.status, metadata: { ...p.metadata, path: p.path }, path: p.path }
      : { name: p.name, status: p.status, error_log: p.error_log };
  });
  return router;
}
