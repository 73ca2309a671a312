// The farm: jobs submitted and commanded, their tasks, this manager and its seeding workers. The
// routes (farm/routes/) translate HTTP to these calls; the state rules live here.
import cluster from 'node:cluster';
import { hostname } from 'node:os';
import { ApiError } from '../http/errors.js';
import type { Services } from '../services.js';
import { storeJob } from './construction.js';
import { deleteHidden } from './deletion.js';
import type { JobStore } from './job-store.js';
import { finishIfDone, Seeder } from './seeder.js';
import { Settings } from './settings.js';
import { inTaskWindows } from './task-windows.js';
import type { JobRecord, JobSpec, JobStatus, TaskStatus } from './types.js';

export const JOB_COMMANDS = ['start', 'stop', 'reset', 'cancel'] as const;
export type JobCommand = (typeof JOB_COMMANDS)[number];

/** The statuses each command may be given in. */
const COMMAND_FROM: Record<JobCommand, readonly JobStatus[]> = {
  start: ['paused'],
  stop: ['queued', 'active'],
  reset: ['paused', 'completed', 'failed', 'canceled'],
  cancel: ['queued', 'active', 'paused'],
};

/** Task statuses a client may set (as Flamenco workers report them); the rest are the seeder's. */
export const SETTABLE_TASK_STATUSES = ['queued', 'failed', 'canceled'] as const;

/** What the farm works with: every service but itself. */
export type FarmServices = Omit<Services, 'farm'>;

export const notFound = (what: string, id: string) => new ApiError(404, 'NOT_FOUND', `No ${what} with id "${id}".`);

export class Farm {
  readonly seeder: Seeder;
  readonly settings: Settings;
  /**
   * The last change under way per job (command, deletion, task status set by a client): the next
   * waits for it. Each reads the job's status, then changes the job and its tasks over several turns
   * of the event loop; a reset and a cancel run together left a queued job whose tasks were all
   * canceled, which nothing ever ran or finished.
   */
  private readonly changing = new Map<string, Promise<void>>();

  private constructor(private readonly services: FarmServices, readonly jobs: JobStore, readonly manager: string) {
    this.seeder = new Seeder(services, jobs, manager, services.config.seedConcurrency, services.config.managerTimeout * 1000);
    this.settings = new Settings(services, jobs, (s) => this.seeder.setConcurrency(s.seed_concurrency));
  }

  /**
   * Registers this instance as a manager (one per host and tile store, so a restart keeps its uuid;
   * the processes of a cluster share a tile store, so each is a manager of its own).
   */
  static async open(services: FarmServices, jobs: JobStore): Promise<Farm> {
    const member = cluster.isWorker ? `#${cluster.worker!.id}` : '';
    const me = await jobs.registerManager(`${hostname()}:${services.config.tileStore}${member}`, null, services.pool.size);
    // Before this instance takes any submission: what it was storing or deleting when it stopped is its own half job.
    const dropped = await deleteHidden(jobs, await jobs.takeInterrupted(me.uuid));
    if (dropped) services.log.warn({ jobs: dropped }, 'seeding jobs left under construction or half deleted by a stop removed');
    const farm = new Farm(services, jobs, me.uuid);
    // Before it takes a submission too: POSTed settings (max_job_tiles) win over the configured ones.
    await farm.settings.follow();
    // From now on, not once seeding starts (after the layers load): a manager taking submissions
    // while it looks silent would see the others remove the jobs it is storing.
    farm.seeder.startHeartbeat();
    return farm;
  }

  /** Stops seeding (running tasks save their progress first) and following settings changes. */
  async close(): Promise<void> {
    await this.seeder.close();
    await this.settings.close();
  }

  async submit(spec: JobSpec): Promise<JobRecord> {
    const { id, tasks } = await storeJob(this.jobs, spec, this.manager);
    const job = await this.job(id);
    this.services.log.info({ job: id, type: job.type, format: job.format, resources: job.resources, zoom: job.zoom, tiles: job.tilesTotal, tasks }, 'seeding job submitted');
    this.seeder.wake();
    return job;
  }

  async job(id: string): Promise<JobRecord> {
    const job = await this.jobs.job(id);
    if (!job) throw notFound('job', id);
    return job;
  }

  /** Runs `change` once the changes under way to any of the jobs are done, and holds off the next ones until it is. */
  private inTurn<T>(jobIds: readonly string[], change: () => Promise<T>): Promise<T> {
    const done = Promise.all(jobIds.map((id) => this.changing.get(id))).then(change);
    const turn = done.then(() => {}, () => {});
    for (const id of jobIds) this.changing.set(id, turn);
    void turn.then(() => { for (const id of jobIds) if (this.changing.get(id) === turn) this.changing.delete(id); });
    return done;
  }

  /** Applies a command; 400 when the job's status does not allow it. */
  command(id: string, command: JobCommand): Promise<JobRecord> {
    return this.inTurn([id], () => this.commandNow(id, command));
  }

  private async commandNow(id: string, command: JobCommand): Promise<JobRecord> {
    const job = await this.job(id);
    const from = COMMAND_FROM[command];
    if (!from.includes(job.status)) {
      throw new ApiError(400, 'COMMAND_NOT_ALLOWED', `Command "${command}" is not allowed on a ${job.status} job (allowed when ${from.join(', ')}).`);
    }
    const changed = await this.apply(job, command, from);
    if (!changed) throw new ApiError(409, 'JOB_CHANGED', `Job ${id} changed status meanwhile; try again.`);
    this.services.log.info({ job: id, command }, 'seeding job command');
    return this.job(id);
  }

  private async apply(job: JobRecord, command: JobCommand, from: readonly JobStatus[]): Promise<boolean> {
    switch (command) {
      case 'start':
        if (!await this.jobs.setJobStatus(job.id, 'queued', 'queued', from)) return false;
        // Its last task may have finished while it was paused: then it is done now.
        await finishIfDone(this.jobs, job.id);
        this.seeder.wake();
        return true;
      case 'stop':
        // The status changes first so no worker claims another of its tasks; then running ones stop.
        if (!await this.jobs.setJobStatus(job.id, 'paused', 'stopped', from)) return false;
        await this.seeder.interrupt(job.id);
        await this.jobs.setJobTasksStatus(job.id, 'queued', ['active']);
        return true;
      case 'cancel':
        if (!await this.jobs.setJobStatus(job.id, 'canceled', 'canceled', from)) return false;
        await this.seeder.interrupt(job.id);
        await inTaskWindows(this.jobs, job.id, (window) => this.jobs.setJobTasksStatus(job.id, 'canceled', ['queued', 'active'], window));
        return true;
      case 'reset':
        // No task of a job in these statuses runs, so progress can go back to zero safely.
        await inTaskWindows(this.jobs, job.id, (window) => this.jobs.resetJobTasks(job.id, window));
        if (!await this.jobs.setJobStatus(job.id, 'queued', 'reset, queued', from)) return false;
        this.seeder.wake();
        return true;
    }
  }

  delete(ids: readonly string[]): Promise<void> {
    return this.inTurn(ids, async () => {
      // Hidden first, so no worker claims another of their tasks; their running ones stop before their rows go.
      const hidden = await this.jobs.hideForDeletion(ids, this.manager);
      for (const id of hidden) await this.seeder.interrupt(id);
      await deleteHidden(this.jobs, hidden);
    });
  }

  /** A task's status set by a client: it stops if running, and its job finishes if nothing is left. */
  async setTaskStatus(id: string, status: TaskStatus, activity: string): Promise<void> {
    const task = await this.jobs.task(id);
    if (!task) throw notFound('task', id);
    await this.inTurn([task.jobId], () => this.setTaskStatusNow(id, task.jobId, status, activity));
  }

  private async setTaskStatusNow(id: string, jobId: string, status: TaskStatus, activity: string): Promise<void> {
    const job = await this.job(jobId);
    if (status === 'queued' && job.status === 'canceled') throw new ApiError(409, 'JOB_CANCELED', `Job ${job.id} is canceled: reset it to run its tasks again.`);
    await this.seeder.interrupt(id);
    await this.jobs.setTaskStatus(id, status, activity);
    if (status === 'queued' && (job.status === 'completed' || job.status === 'failed')) {
      // Only from those: a job hidden meanwhile (being deleted) stays hidden for good.
      await this.jobs.setJobStatus(job.id, 'queued', 'task queued again', ['completed', 'failed']);
    }
    // A settled job's status follows its tasks': one set failed after the job completed fails it.
    await finishIfDone(this.jobs, job.id, ['active', 'queued', 'completed', 'failed']);
    this.seeder.wake();
  }
}
