// /farm/api/v3/workers (this manager's seeding workers) and /farm/api/v3/managers (the Meridian
// instances sharing the job queue).
import type Router from '@koa/router';
import { badField, bodyObject, readJson } from '../../http/body.js';
import { notFound, type Farm } from '../farm.js';
import { managerView, workerView } from '../views.js';
import { farmRouter } from './router.js';

const MAX_WORKERS = 1024;

function workerCount(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_WORKERS) throw badField('total_workers', `must be an integer from 0 to ${MAX_WORKERS}`);
  return value;
}

export function workerRoutes(farm: Farm): Router {
  const router = farmRouter();

  router.get('/workers', (ctx) => {
    ctx.body = { workers: farm.seeder.workers().map((w) => workerView(w, farm.manager)) };
  });

  router.get('/workers/:id', (ctx) => {
    const worker = farm.seeder.workers().find((w) => w.id === ctx.params.id);
    if (!worker) throw notFound('worker', ctx.params.id);
    ctx.body = workerView(worker, farm.manager);
  });

  // Flamenco's status change: {"id", "status": "awake" | "asleep"}; an asleep worker takes no task.
  router.post('/workers', readJson, (ctx) => {
    const { id, status } = bodyObject(ctx);
    if (typeof id !== 'string') throw badField('id', 'must be a worker id');
    const worker = farm.seeder.workers().find((w) => w.id === id);
    if (!worker) throw notFound('worker', id);
    if (status !== 'awake' && status !== 'asleep') throw badField('status', 'must be awake or asleep');
    if (!farm.seeder.setAsleep(id, status === 'asleep')) throw badField('id', `names an offline worker (outside the seeding share; raise seed_concurrency in settings)`);
    ctx.status = 204;
  });

  router.get('/managers', async (ctx) => {
    ctx.body = { managers: (await farm.jobs.managers()).map((m) => managerView(m, farm.manager)) };
  });

  router.post('/managers', readJson, async (ctx) => {
    const { name, url, total_workers } = bodyObject(ctx);
    if (typeof name !== 'string' || name === '' || name.length > 255) throw badField('name', 'must be a non-empty string of at most 255 characters');
    if (url !== undefined && (typeof url !== 'string' || !/^https?:\/\//.test(url))) throw badField('url', 'must be an http(s) URL');
    const manager = await farm.jobs.registerManager(name, (url as string | undefined) ?? null, workerCount(total_workers ?? 0));
    ctx.status = 201;
    ctx.body = { uuid: manager.uuid };
  });

  router.patch('/managers/:uuid', readJson, async (ctx) => {
    const total = workerCount(bodyObject(ctx).total_workers);
    if (!await farm.jobs.setManagerWorkers(ctx.params.uuid, total)) throw notFound('manager', ctx.params.uuid);
    ctx.body = managerView((await farm.jobs.manager(ctx.params.uuid))!, farm.manager);
  });

  return router;
}
