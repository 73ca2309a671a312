// /pool/: the worker pool, in py-qgis-server's management API shapes.
import { totalmem } from 'node:os';
import type Router from '@koa/router';
import { workerMemoryBytes } from '../pool/pool.js';
import type { Services } from '../services.js';
import { managementRouter, type ManagementGuard } from './access.js';
import { cacheLink } from './cache-routes.js';

export function poolRoutes(services: Services, guard: ManagementGuard): Router {
  const router = managementRouter(guard);
  const { pool, projectWorkers, log } = services;

  router.get('/pool/', async (ctx) => {
    const reports = await projectWorkers.report();
    // Each worker's figures as it reported them with the answer just received.
    const stats = new Map(pool.stats().workers.map((w) => [w.id, w]));
    ctx.body = {
      num_workers: pool.size,
      workers: reports.map(({ id, value }) => {
        const w = stats.get(id);
        const mem = w?.heapTotal != null ? workerMemoryBytes({ heapTotal: w.heapTotal, externalBytes: w.externalBytes ?? 0, sharedBytes: w.sharedBytes ?? 0 }) : 0;
        return {
          pid: value.pid,
          mem_usage: mem,
          mem_percent: (mem / totalmem()) * 100,
          cache: value.cache.map((c) => ({ ...c, link: cacheLink(ctx, c.key) })),
        };
      }),
    };
  });

  router.post('/pool/restart', (ctx) => {
    // New requests go to new workers at once; the old ones finish what they run, then leave.
    pool.restart().catch((err) => log.error({ err }, 'pool restart failed'));
    ctx.body = { status: 'ok' };
  });
  return router;
}
