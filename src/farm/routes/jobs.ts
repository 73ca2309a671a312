// /farm/api/v3/jobs and /farm/api/v3/tasks: submitting and commanding seeding jobs, their tasks.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { badField, bodyObject, readJson } from '../../http/body.js';
import { badParameter } from '../../http/errors.js';
import { single } from '../../http/params.js';
import type { Services } from '../../services.js';
import { JOB_COMMANDS, SETTABLE_TASK_STATUSES, notFound, type Farm, type JobCommand } from '../farm.js';
import { jobSpec } from '../job-input.js';
import { tasksJson } from '../task-list.js';
import { SHOWN_JOB_STATUSES, type JobRecord, type ShownJobStatus } from '../types.js';
import { jobView, taskView } from '../views.js';
import { farmRouter } from './router.js';

/** Most ids one bulk delete may name. */
const MAX_BULK = 1000;

function jobIds(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string') || value.length > MAX_BULK) {
    throw badField('ids', `must be a list of at most ${MAX_BULK} job ids`);
  }
  return value as string[];
}

export function jobRoutes(services: Services, farm: Farm): Router {
  const router = farmRouter();
  const view = async (job: JobRecord) => jobView(job, await farm.jobs.jobCounts(job.id), farm.seeder.jobRate(job.id));

  router.get('/jobs', async (ctx) => {
    const status = single(ctx.query.status as string | string[] | undefined);
    if (status !== undefined && !SHOWN_JOB_STATUSES.includes(status as ShownJobStatus)) throw badParameter('status', `must be one of ${SHOWN_JOB_STATUSES.join(', ')}`);
    // One job's counts at a time, a turn of the event loop between: SQLite sums a cap-size job's
    // tasks in 10–25 ms, and all the jobs at once were one stretch of the loop.
    const jobs = [];
    for (const job of await farm.jobs.jobs(status as ShownJobStatus | undefined)) {
      await nextTurn();
      jobs.push(await view(job));
    }
    ctx.body = { jobs };
  });

  router.post('/jobs', readJson, async (ctx) => {
    const spec = await jobSpec(ctx, services, bodyObject(ctx), farm.settings.get().max_job_tiles);
    ctx.status = 201;
    ctx.body = await view(await farm.submit(spec));
  });

  router.post('/jobs/delete', readJson, async (ctx) => {
    await farm.delete(jobIds(bodyObject(ctx).ids));
    ctx.status = 204;
  });

  router.get('/jobs/:id', async (ctx) => {
    ctx.body = await view(await farm.job(ctx.params.id));
  });

  router.put('/jobs/:id', readJson, async (ctx: Context) => {
    const { command } = bodyObject(ctx);
    await farm.job(ctx.params.id); // 404 before 400
    if (!JOB_COMMANDS.includes(command as JobCommand)) throw badField('command', `must be one of ${JOB_COMMANDS.join(', ')}`);
    ctx.body = await view(await farm.command(ctx.params.id, command as JobCommand));
  });

  router.delete('/jobs/:id', async (ctx) => {
    await farm.job(ctx.params.id);
    await farm.delete([ctx.params.id]);
    ctx.status = 204;
  });

  router.get('/tasks', async (ctx) => {
    const jobId = single(ctx.query.job as string | string[] | undefined);
    const { json, hidden } = await tasksJson(farm.jobs, jobId ? [await farm.job(jobId)] : await farm.jobs.jobs());
    // Deleted while its tasks were read: 404, as if asked a moment later.
    if (jobId && hidden.length > 0) throw notFound('job', jobId);
    ctx.type = 'json';
    ctx.body = json;
  });

  router.get('/tasks/:id', async (ctx) => {
    const task = await farm.jobs.task(ctx.params.id);
    if (!task) throw notFound('task', ctx.params.id);
    ctx.body = taskView(task, await farm.job(task.jobId));
  });

  // As Flamenco workers report a task's status: {"id", "status", "activity"?}.
  router.post('/tasks', readJson, async (ctx) => {
    const body = bodyObject(ctx);
    if (typeof body.id !== 'string') throw badField('id', 'must be a task id');
    if (!SETTABLE_TASK_STATUSES.includes(body.status as never)) throw badField('status', `must be one of ${SETTABLE_TASK_STATUSES.join(', ')}`);
    if (body.activity !== undefined && typeof body.activity !== 'string') throw badField('activity', 'must be a string');
    await farm.setTaskStatus(body.id, body.status as (typeof SETTABLE_TASK_STATUSES)[number], (body.activity as string | undefined) ?? `set ${body.status}`);
    ctx.status = 204;
  });

  return router;
}
