// The seeding loop: one farm worker per pool worker; the first `concurrency` of them (the seeding
// share) take tasks from the job store and make their tiles one at a time, so seeding never holds
// more pool workers than that and live tile requests keep the rest. Progress is saved every
// SAVE_MS and at the end of each task; a tile already in the store is skipped, so a task resumed
// after a crash continues where its saved progress was and never redoes a tile.
import { deleteHidden } from './deletion.js';
import type { FarmServices } from './farm.js';
import type { JobStore } from './job-store.js';
import { RateMeter } from './rate.js';
import { tileAt } from './tile-grid.js';
import { TileWork } from './tile-work.js';
import type { JobCounts, JobRecord, JobStatus, TaskProgress, TaskRecord } from './types.js';

const SAVE_MS = 500;
const PROGRESS_LOG_MS = 5000;
/** Idle workers look for tasks this often (another manager may have queued some). */
const IDLE_POLL_MS = 2000;

export type WorkerStatus = 'awake' | 'asleep' | 'offline';

export interface FarmWorker {
  id: string;
  name: string;
  status: WorkerStatus;
  task: TaskRecord | null;
  tilesPerSecond: number;
}

interface Slot {
  id: string;
  asleep: boolean;
  task: TaskRecord | null;
  meter: RateMeter;
  /** The task being run, settled once its progress is saved. */
  running: Promise<void> | null;
}

export class Seeder {
  private readonly slots: Slot[];
  private readonly jobMeters = new Map<string, RateMeter>();
  private readonly lastLog = new Map<string, number>();
  /** Job and task ids whose running tasks must stop after their current tile. */
  private readonly interrupted = new Set<string>();
  private wakers = new Set<() => void>();
  private loops: Promise<void>[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly services: FarmServices, private readonly jobs: JobStore, readonly manager: string, private concurrency: number,
    /** Another manager silent this long (ms) is taken for stopped. */
    private readonly managerTimeoutMs: number) {
    this.slots = Array.from({ length: services.pool.size }, (_, i) => ({ id: `worker-${i + 1}`, asleep: false, task: null, meter: new RateMeter(), running: null }));
  }

  /** Puts the tasks this manager was running when it stopped back in the queue, then starts the workers. */
  async start(): Promise<void> {
    if (this.closed) return;
    const requeued = await this.jobs.requeueInterrupted(this.manager);
    if (requeued) this.services.log.info({ tasks: requeued }, 'seeding tasks interrupted by a stop queued again');
    this.loops = this.slots.map((slot, i) => this.loop(slot, i));
  }

  /** Starts the heartbeat (Farm.open), three beats per timeout, so one late beat never makes this manager look stopped. */
  startHeartbeat(): void {
    if (this.heartbeat || this.closed) return;
    this.heartbeat = setInterval(() => this.beat().catch((err) => this.services.log.error({ err }, 'seeding heartbeat failed')), this.managerTimeoutMs / 3);
    this.heartbeat.unref();
  }

  /**
   * Says this manager is alive, queues again the tasks of managers that stopped saying so, and
   * removes the jobs they left under construction or half deleted (a manager that never comes back,
   * or a cluster process replaced under another name, would not remove its own).
   */
  private async beat(): Promise<void> {
    await this.jobs.touchManager(this.manager);
    const silentSince = Date.now() - this.managerTimeoutMs;
    const requeued = await this.jobs.requeueAbandoned(silentSince, this.manager);
    if (requeued) {
      this.services.log.warn({ tasks: requeued }, 'seeding tasks of a silent manager queued again');
      this.wake();
    }
    const dropped = await deleteHidden(this.jobs, await this.jobs.takeAbandoned(silentSince, this.manager));
    if (dropped) this.services.log.warn({ jobs: dropped }, 'seeding jobs left under construction or half deleted by a silent manager removed');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.wake();
    await Promise.all(this.loops);
  }

  /** Idle workers look for tasks now (a job was submitted or started). */
  wake(): void {
    for (const w of this.wakers) w();
  }

  setConcurrency(n: number): void {
    this.concurrency = n;
    // Workers now outside the share stop after their current tile; their tasks go back to the queue.
    for (const slot of this.slots.slice(n)) this.interrupted.add(slot.id);
    this.wake();
  }

  workers(): FarmWorker[] {
    return this.slots.map((s, i) => ({
      id: s.id, name: s.id, status: this.statusOf(s, i), task: s.task, tilesPerSecond: s.meter.rate(),
    }));
  }

  /** Awake or asleep; false for an unknown worker or one outside the seeding share (offline). */
  setAsleep(id: string, asleep: boolean): boolean {
    const i = this.slots.findIndex((s) => s.id === id);
    if (i < 0 || i >= this.concurrency) return false;
    this.slots[i].asleep = asleep;
    if (asleep) this.interrupted.add(id);
    this.wake();
    return true;
  }

  /** Stops the running tasks of a job (or one task) after their current tile; resolves once their progress is saved. */
  async interrupt(id: string): Promise<void> {
    this.interrupted.add(id);
    await Promise.all(this.slots.filter((s) => s.task && (s.task.id === id || s.task.jobId === id)).map((s) => s.running));
    this.interrupted.delete(id);
  }

  /** This manager's recent rate on a job, tiles per second. */
  jobRate(jobId: string): number {
    return this.jobMeters.get(jobId)?.rate() ?? 0;
  }

  private statusOf(s: Slot, i: number): WorkerStatus {
    if (i >= this.concurrency) return 'offline';
    return s.asleep ? 'asleep' : 'awake';
  }

  private nap(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.wakers.delete(done); resolve(); };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private async loop(slot: Slot, i: number): Promise<void> {
    while (!this.closed) {
      try {
        const task = this.statusOf(slot, i) === 'awake' ? await this.jobs.claimTask(slot.id, this.manager) : undefined;
        if (!task) { await this.nap(IDLE_POLL_MS); continue; }
        this.interrupted.delete(slot.id);
        slot.task = task;
        slot.running = this.run(slot, task);
        await slot.running;
      } catch (err) {
        this.services.log.error({ err, worker: slot.id }, 'seeding worker failed');
        await this.nap(IDLE_POLL_MS);
      } finally {
        slot.task = null;
        slot.running = null;
      }
    }
  }

  private stopping(slot: Slot, task: TaskRecord): boolean {
    return this.closed || [slot.id, task.id, task.jobId].some((id) => this.interrupted.has(id));
  }

  private async run(slot: Slot, task: TaskRecord): Promise<void> {
    // Read at once: a command that paused or canceled the job since the claim is seen here or sees this task.
    const job = await this.jobs.job(task.jobId);
    if (!job) return;
    if (job.status !== 'active' && job.status !== 'queued') {
      await this.jobs.setTaskStatus(task.id, 'queued', '', ['active']);
      return;
    }
    let work: TileWork;
    try {
      work = await TileWork.of(this.services, job);
    } catch (err) {
      await this.jobs.setTaskStatus(task.id, 'failed', `layers unavailable: ${(err as Error).message}`, ['active']);
      await this.finishJob(job);
      return;
    }
    if (job.type !== 'seed' && !task.cleared) {
      await work.clear(task);
      await this.jobs.markCleared(task.id);
    }
    const progress: TaskProgress = { nextIndex: task.nextIndex, generated: task.generated, skipped: task.skipped, failed: task.failed };
    const meter = this.jobMeters.get(job.id) ?? new RateMeter();
    this.jobMeters.set(job.id, meter);
    if (job.type === 'truncate') {
      meter.add(task.tilesTotal - progress.nextIndex);
      progress.nextIndex = task.tilesTotal;
    }
    let saved = Date.now();
    while (progress.nextIndex < task.tilesTotal && !this.stopping(slot, task)) {
      progress[await work.seed(tileAt(task, progress.nextIndex))]++;
      progress.nextIndex++;
      slot.meter.add();
      meter.add();
      if (Date.now() - saved >= SAVE_MS) {
        if (!await this.save(slot, task, progress)) return;
        saved = Date.now();
        await this.logProgress(job);
      }
    }
    if (!await this.save(slot, task, progress)) return;
    if (progress.nextIndex < task.tilesTotal) {
      // Stopped early: by a command (which sets the statuses), by sleep or by shutdown (queued again for later).
      if (!this.closed) await this.jobs.setTaskStatus(task.id, 'queued', 'worker went to sleep', ['active']);
      return;
    }
    const status = progress.failed > 0 ? 'failed' : 'completed';
    await this.jobs.setTaskStatus(task.id, status, `${progress.generated} generated, ${progress.skipped} skipped, ${progress.failed} failed`, ['active']);
    await this.finishJob(job);
  }

  /** Saves progress; false (logged) when another manager has taken the task meanwhile. */
  private async save(slot: Slot, task: TaskRecord, progress: TaskProgress): Promise<boolean> {
    if (await this.jobs.saveProgress(task.id, slot.id, this.manager, progress)) return true;
    this.services.log.warn({ task: task.id, worker: slot.id }, 'seeding task taken by another manager; letting it go');
    return false;
  }

  private async finishJob(job: JobRecord): Promise<void> {
    const end = await finishIfDone(this.jobs, job.id);
    if (!end) return;
    this.services.log.info({ job: job.id, status: end.status, ...end.tiles }, 'seeding job finished');
    this.jobMeters.delete(job.id);
    this.lastLog.delete(job.id);
  }

  private async logProgress(job: JobRecord): Promise<void> {
    const now = Date.now();
    if (now - (this.lastLog.get(job.id) ?? 0) < PROGRESS_LOG_MS) return;
    this.lastLog.set(job.id, now);
    const counts = await this.jobs.jobCounts(job.id);
    const rate = this.jobRate(job.id);
    this.services.log.info({ job: job.id, done: counts.done, total: counts.total, failed: counts.failed, rate, eta: eta(counts.total - counts.done, rate) }, 'seeding progress');
  }
}

/** What finishIfDone set: the job's status, and its tile counts as they were then. */
export interface JobEnd {
  status: JobStatus;
  tiles: JobCounts;
}

/**
 * Once a running job has no task left to run: failed if a task failed, canceled if all were,
 * else completed. Answers the status set, if it was, with the tile counts it was decided on.
 */
export async function finishIfDone(jobs: JobStore, jobId: string, from: JobStatus[] = ['active', 'queued']): Promise<JobEnd | undefined> {
  // Two index lookups answer this at every task's end; only a job with none left has its tasks
  // counted and summed, in one read (reading them as records held the event loop ~0.5 s at the cap).
  if (await jobs.hasOpenTasks(jobId)) return undefined;
  const { tasks, tiles } = await jobs.jobTally(jobId);
  const total = Object.values(tasks).reduce((a, b) => a + b, 0);
  const status = tasks.failed > 0 ? 'failed' : tasks.canceled === total ? 'canceled' : 'completed';
  const done = await jobs.setJobStatus(jobId, status, `${tiles.done} of ${tiles.total} tiles; ${tiles.failed} failed`, from);
  return done ? { status, tiles } : undefined;
}

/** Seconds left at `rate` tiles per second; null when nothing is moving. */
export function eta(remaining: number, rate: number): number | null {
  if (remaining <= 0) return 0;
  return rate > 0 ? Math.round(remaining / rate) : null;
}
