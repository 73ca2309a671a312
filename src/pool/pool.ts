// A pool of worker threads for CPU-heavy work, so the main thread only does I/O and caching.
// Tasks are named; each name maps to a module whose default export runs inside the worker.
// Layer data is shipped to a worker once per layer version and kept there (SharedArrayBuffers
// inside it are shared, not copied). A crashed or timed-out worker is replaced at once.
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { ApiError } from '../http/errors.js';
import type { FromWorker, LayerShipment, TaskFailure, ToWorker, WorkerHealth, WorkerStart } from './protocol.js';
import { SharedResults } from './shared-results.js';

export type { TaskContext, TaskHandler } from './protocol.js';

/** Where a layer's data comes from; `data()` should be memoised by the caller (it runs per task). */
export interface LayerSource {
  key: string;
  version: number;
  data(): unknown | Promise<unknown>;
}

export interface RunOptions {
  layers?: LayerSource[];
  /** Buffers of the payload to move to the worker instead of copying. */
  transfer?: ArrayBuffer[];
  timeoutMs?: number;
  /**
   * Whoever asked is still waiting: once it aborts, the task is dropped if it has not started yet,
   * or told to stop if it has (see TaskContext.throwIfAbandoned), and rejects with the signal's
   * reason. A started task that does not check, or ends first, answers as usual.
   */
  signal?: AbortSignal;
  /**
   * The task may hold its worker for seconds (a large image, a big identify search): such tasks
   * take at most all workers but one, so tiles always find a worker (see heavyLimit).
   */
  heavy?: boolean;
}

export interface PoolOptions {
  size?: number;
  taskTimeoutMs?: number;
  log?: Logger;
  /** Task name → module URL (see `taskModule`). More can be added with `register`. */
  tasks?: Record<string, string>;
  /** When the workers' memory (see `workerMemoryBytes`) adds up past this, the largest is recycled; 0 = never. */
  memoryHighWaterMark?: number;
  /** Tasks that may wait for a worker; past them a task is refused at once (503 POOL_BUSY). Default 64 per worker. */
  maxQueued?: number;
  /**
   * Result bytes in shared memory that the main thread may have let go without collecting them yet,
   * before results are moved instead (see shared-results.ts). Default 128 MB.
   */
  sharedResultBytes?: number;
  /** Shared result bytes known to be in use (the tile cache's), which are no garbage. */
  sharedInUse?: () => number;
}

/** A worker's own memory: its V8 heap plus the buffers it holds outside it (shared results not yet collected included). */
export function workerMemoryBytes(h: { heapTotal: number; externalBytes: number; sharedBytes?: number }): number {
  return h.heapTotal + h.externalBytes + (h.sharedBytes ?? 0);
}

/** What `broadcast` gives back per worker. */
export interface WorkerAnswer<T> {
  id: number;
  threadId: number;
  value: T;
}

export interface WorkerStats {
  id: number;
  threadId: number;
  busy: boolean;
  task: string | null;
  tasksDone: number;
  tasksFailed: number;
  retiring: boolean;
  uptimeMs: number;
  /** Share of time the worker's event loop was busy since it started (0–1). */
  utilization: number;
  /** Heap figures as the worker last reported them (v8.getHeapStatistics inside the worker). */
  heapUsed: number | null;
  heapTotal: number | null;
  heapLimit: number | null;
  externalBytes: number | null;
  /** Result bytes the worker shared and has not yet collected. */
  sharedBytes: number | null;
  layers: number;
}

export interface PoolStats {
  size: number;
  queued: number;
  /** Result bytes the main thread received in shared memory and has not yet collected. */
  sharedResultBytes: number;
  restarts: number;
  crashes: number;
  timeouts: number;
  /** Workers replaced because the pool went over its memory high-water mark. */
  recycled: number;
  /** Tasks dropped from the queue because whoever asked had gone (RunOptions.signal). */
  abandoned: number;
  /** Tasks stopped while running because whoever asked had gone (TaskContext.throwIfAbandoned). */
  stopped: number;
  workers: WorkerStats[];
}

interface Job {
  task: string;
  module: string;
  payload: unknown;
  layers: { key: string; version: number; data: unknown }[];
  transfer: ArrayBuffer[];
  timeoutMs: number;
  /** When it was queued: a task that waited longer than its timeout is not started (see nextJobFor). */
  queuedAt: number;
  /** Set by `broadcast`: only this worker may run it. */
  slotId?: number;
  heavy: boolean;
  /** The asker's (RunOptions.signal). */
  signal?: AbortSignal;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  id: number;
  worker: Worker;
  /** Set to 1 when the asker of the job running has gone, back to 0 when the next starts (see WorkerStart). */
  abandoned: Int32Array;
  job: Job | null;
  jobId: number;
  timer: NodeJS.Timeout | null;
  /** Layer key → version this worker holds. */
  layers: Map<string, number>;
  health: WorkerHealth | null;
  /** Tasks go only to started workers, so start-up time (seconds under tsx) never counts toward a timeout. */
  ready: boolean;
  tasksDone: number;
  tasksFailed: number;
  retiring: boolean;
  /** Set when we end the worker ourselves, so its exit is not taken for a crash. */
  ending: boolean;
  started: number;
  exited: Promise<void>;
}

const EXT = extname(new URL(import.meta.url).pathname);

/**
 * The URL of a task module next to `base` (pass `import.meta.url`), with the extension the
 * running code has: `.ts` under tsx (tests), `.js` from dist/.
 */
export function taskModule(relative: string, base: string): string {
  const url = new URL(relative, base);
  url.pathname = url.pathname.replace(/\.[cm]?[jt]s$/, extname(new URL(base).pathname));
  return url.href;
}

function spawnWorker(workerData: WorkerStart): Worker {
  // An object as workerData also tells libraries that probe it (web-worker, used by geotiff) that
  // this thread is not one of theirs; with none they take it for their own and fail to load.
  const entry = new URL(`./worker${EXT}`, import.meta.url);
  if (EXT !== '.ts') return new Worker(entry, { workerData });
  // Under tsx (tests), Node 20 workers do not apply the parent's --import hooks: register them first.
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`,
    { eval: true, workerData },
  );
}

function failureError(f: TaskFailure): Error {
  if (f.status && f.code) return new ApiError(f.status, f.code, f.message, f.title);
  return new Error(f.message);
}

export class WorkerPool {
  readonly size: number;
  /** Heavy tasks running at once: all workers but one (with one worker, that one). */
  readonly heavyLimit: number;
  private readonly taskTimeoutMs: number;
  private readonly log?: Logger;
  private readonly tasks = new Map<string, string>();
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextSlotId = 1;
  private nextJobId = 1;
  /** Heavy jobs holding a slot now (see heavyLimit); kept by `give` and `takeJob`. */
  private heavyRunning = 0;
  private restarts = 0;
  private crashes = 0;
  private timeouts = 0;
  private recycled = 0;
  private abandoned = 0;
  private stopped = 0;
  private readonly memoryHighWaterMark: number;
  private readonly maxQueued: number;
  private readonly sharedResults: SharedResults;
  private closed = false;

  constructor(opts: PoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? availableParallelism());
    this.heavyLimit = Math.max(1, this.size - 1);
    this.taskTimeoutMs = opts.taskTimeoutMs ?? 20_000;
    this.log = opts.log;
    this.memoryHighWaterMark = opts.memoryHighWaterMark ?? 0;
    this.maxQueued = opts.maxQueued ?? 64 * this.size;
    this.sharedResults = new SharedResults(opts.sharedResultBytes ?? 128 * 2 ** 20, opts.sharedInUse);
    for (const [name, module] of Object.entries(opts.tasks ?? {})) this.register(name, module);
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  /** Adds (or replaces) the module that handles `task`; `module` is a URL, see `taskModule`. */
  register(task: string, module: string): void {
    this.tasks.set(task, module);
  }

  /** Runs `task` in a worker. Rejects with ApiError 503 WORKER_FAILED / WORKER_TIMEOUT if the worker dies or overruns. */
  run<T>(task: string, payload: unknown, opts: RunOptions = {}): Promise<T> {
    return this.enqueue<T>(task, payload, opts);
  }

  /**
   * Runs `task` once on every worker now serving (not retiring), e.g. to apply a change everywhere
   * or to ask each for a report. A worker that dies or retires first is left out of the answers.
   */
  async broadcast<T>(task: string, payload: unknown, opts: RunOptions = {}): Promise<WorkerAnswer<T>[]> {
    const serving = this.slots.filter((s) => !s.retiring);
    const settled = await Promise.allSettled(serving.map(async (s) => ({ id: s.id, threadId: s.worker.threadId, value: await this.enqueue<T>(task, payload, opts, s.id) })));
    const failed = settled.find((r) => r.status === 'rejected' && !(r.reason instanceof ApiError && r.reason.status === 503));
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  private async enqueue<T>(task: string, payload: unknown, opts: RunOptions, slotId?: number): Promise<T> {
    const module = this.tasks.get(task);
    if (!module) throw new Error(`no handler registered for task "${task}"`);
    const layers = await Promise.all((opts.layers ?? []).map(async (l) => ({ key: l.key, version: l.version, data: await l.data() })));
    if (this.closed) throw new ApiError(503, 'POOL_CLOSED', 'The worker pool is shutting down.');
    // Load shedding: past this many waiting, a task would wait longer than anyone waits for it.
    if (this.queue.length >= this.maxQueued) {
      throw new ApiError(503, 'POOL_BUSY', `Every worker is busy and ${this.queue.length} tasks wait; try again shortly.`, undefined, { 'Retry-After': '1' });
    }
    const signal = opts.signal;
    if (signal?.aborted) throw signal.reason;
    return new Promise<T>((resolve, reject) => {
      const leave = () => this.leave(job);
      const settled = () => signal?.removeEventListener('abort', leave);
      const job: Job = {
        task, module, payload, layers, transfer: opts.transfer ?? [], timeoutMs: opts.timeoutMs ?? this.taskTimeoutMs, queuedAt: Date.now(), slotId,
        heavy: opts.heavy === true, signal,
        resolve: (value) => { settled(); resolve(value as T); },
        reject: (error) => { settled(); reject(error); },
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Whoever asked for `job` has gone: dropped if still queued, else its worker is told to stop it. */
  private leave(job: Job): void {
    const at = this.queue.indexOf(job);
    if (at >= 0) {
      this.queue.splice(at, 1);
      this.abandoned++;
      job.reject(job.signal!.reason);
      return;
    }
    const slot = this.slots.find((s) => s.job === job);
    if (slot) Atomics.store(slot.abandoned, 0, 1);
  }

  /** Tells workers to drop a layer's data (the layer was removed or replaced). */
  forgetLayer(key: string): void {
    for (const s of this.slots) {
      if (s.layers.delete(key)) s.worker.postMessage({ type: 'forget', key } satisfies ToWorker);
    }
  }

  /** Replaces every worker: new tasks go to new workers at once; tasks in flight finish on the old ones. */
  async restart(): Promise<void> {
    if (this.closed) return;
    this.restarts++;
    const old = this.slots.filter((s) => !s.retiring);
    for (const s of old) this.retire(s);
    this.log?.info({ workers: this.size }, 'worker pool restarting');
    this.dispatch();
    await Promise.all(old.map((s) => s.exited));
  }

  stats(): PoolStats {
    const now = Date.now();
    return {
      size: this.size, queued: this.queue.length, sharedResultBytes: this.sharedResults.heldBytes, restarts: this.restarts, crashes: this.crashes, timeouts: this.timeouts, recycled: this.recycled, abandoned: this.abandoned, stopped: this.stopped,
      workers: this.slots.map((s) => ({
        id: s.id, threadId: s.worker.threadId, busy: s.job !== null, task: s.job?.task ?? null,
        tasksDone: s.tasksDone, tasksFailed: s.tasksFailed, retiring: s.retiring, uptimeMs: now - s.started,
        utilization: s.worker.performance.eventLoopUtilization().utilization,
        heapUsed: s.health?.heapUsed ?? null, heapTotal: s.health?.heapTotal ?? null,
        heapLimit: s.health?.heapLimit ?? null, externalBytes: s.health?.externalBytes ?? null, sharedBytes: s.health?.sharedBytes ?? null,
        layers: s.layers.size,
      })),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new ApiError(503, 'POOL_CLOSED', 'The worker pool is shutting down.'));
    const slots = this.slots.splice(0);
    for (const s of slots) {
      this.takeJob(s)?.reject(new ApiError(503, 'POOL_CLOSED', 'The worker pool is shutting down.'));
      this.end(s);
    }
    await Promise.all(slots.map((s) => s.exited));
  }

  private spawn(): Slot {
    const abandoned = new Int32Array(new SharedArrayBuffer(4));
    const worker = spawnWorker({ abandoned });
    const slot: Slot = {
      id: this.nextSlotId++, worker, abandoned, job: null, jobId: 0, timer: null, layers: new Map(), health: null,
      tasksDone: 0, tasksFailed: 0, retiring: false, ready: false, ending: false, started: Date.now(),
      exited: new Promise((resolve) => worker.once('exit', () => resolve())),
    };
    worker.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
    worker.on('error', (err) => this.log?.error({ worker: slot.id, err }, 'worker crashed'));
    worker.once('exit', (code) => this.onExit(slot, code));
    // Idle workers must not keep the process alive (a booting one does, until it is ready: tasks may wait for it).
    return slot;
  }

  /** A fresh worker takes the slot's place at once; the old one ends when its task (if any) is done. */
  private retire(slot: Slot): void {
    slot.retiring = true;
    this.handOver(slot, this.spawn());
    if (!slot.job) this.end(slot);
  }

  /**
   * A worker leaves the pool: `fresh` (when it is replaced) joins it and takes over the jobs queued for
   * the old one alone (a broadcast still reaches every serving worker); without a replacement they fail.
   */
  private handOver(slot: Slot, fresh?: Slot): void {
    if (fresh) this.slots.push(fresh);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i].slotId !== slot.id) continue;
      if (fresh) this.queue[i].slotId = fresh.id;
      else this.queue.splice(i, 1)[0].reject(new ApiError(503, 'WORKER_RETIRED', 'The worker left the pool before running this task.'));
    }
  }

  /** Over the high-water mark, the largest worker makes way for a fresh one. */
  private recycleIfOverMemory(): void {
    if (!this.memoryHighWaterMark || this.closed) return;
    const serving = this.slots.filter((s) => !s.retiring && s.health);
    const total = serving.reduce((sum, s) => sum + workerMemoryBytes(s.health!), 0);
    if (total <= this.memoryHighWaterMark) return;
    const largest = serving.reduce((a, b) => (workerMemoryBytes(b.health!) > workerMemoryBytes(a.health!) ? b : a));
    this.recycled++;
    this.log?.warn({ worker: largest.id, bytes: workerMemoryBytes(largest.health!), total, mark: this.memoryHighWaterMark }, 'workers over the memory high-water mark; recycling the largest');
    this.retire(largest);
  }

  private end(slot: Slot): void {
    slot.ending = true;
    if (slot.timer) clearTimeout(slot.timer);
    // Held until it has exited: close() awaits that, and an unref'd worker would let the event loop end first.
    slot.worker.ref();
    // One still loading its modules is ended once ready: terminated mid-load (under tsx's loader hooks,
    // Node 20) it may never exit, and close() would wait for it forever.
    if (slot.ready) void slot.worker.terminate();
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    slot.health = msg.health;
    if (msg.type === 'ready') {
      slot.ready = true;
      if (slot.ending) { void slot.worker.terminate(); return; }
      slot.worker.unref();
      this.dispatch();
      return;
    }
    // Counted even when late (its task timed out): the bytes came all the same.
    if (msg.type === 'done') for (const bytes of msg.shared) this.sharedResults.adopt(bytes);
    if (msg.id !== slot.jobId) return;
    const job = this.takeJob(slot);
    if (!job) return;
    slot.worker.unref();
    if (msg.type === 'done') { slot.tasksDone++; job.resolve(msg.value); }
    else if (msg.type === 'stopped') { this.stopped++; job.reject(job.signal!.reason); }
    else { slot.tasksFailed++; job.reject(failureError(msg.error)); }
    if (slot.retiring) this.end(slot);
    else this.recycleIfOverMemory();
    this.dispatch();
  }

  private onExit(slot: Slot, code: number): void {
    if (slot.ending) return;
    // The worker died on its own: fail its task and put a fresh worker in its place.
    this.crashes++;
    const job = this.takeJob(slot);
    this.log?.error({ worker: slot.id, code, task: job?.task }, 'worker exited; replacing it');
    job?.reject(new ApiError(503, 'WORKER_FAILED', `The worker running "${job.task}" failed; please retry.`));
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    // A retiring worker's replacement exists already and holds its pinned jobs.
    if (!slot.retiring) this.handOver(slot, this.closed ? undefined : this.spawn());
    this.dispatch();
  }

  private onTimeout(slot: Slot): void {
    const job = this.takeJob(slot);
    if (!job) return;
    this.timeouts++;
    this.log?.warn({ worker: slot.id, task: job.task, ms: job.timeoutMs }, 'task timed out; replacing its worker');
    job.reject(new ApiError(503, 'WORKER_TIMEOUT', `"${job.task}" took longer than ${job.timeoutMs} ms.`));
    this.end(slot);
    if (!slot.retiring) this.handOver(slot, this.closed ? undefined : this.spawn());
    this.dispatch();
  }

  /**
   * The first queued task this slot may run. One that waited past its own timeout is refused
   * instead (whoever asked has likely gone; running it would only delay the rest).
   */
  private nextJobFor(slot: Slot): Job | undefined {
    for (;;) {
      // A heavy task waits while the others hold all the workers they may; lighter ones pass it.
      const heavyRoom = this.heavyRunning < this.heavyLimit;
      const next = this.queue.findIndex((j) => (j.slotId === undefined || j.slotId === slot.id) && (heavyRoom || !j.heavy));
      if (next < 0) return undefined;
      const job = this.queue.splice(next, 1)[0];
      if (Date.now() - job.queuedAt <= job.timeoutMs) return job;
      job.reject(new ApiError(503, 'QUEUE_TIMEOUT', `"${job.task}" waited ${job.timeoutMs} ms for a worker; try again shortly.`, undefined, { 'Retry-After': '1' }));
    }
  }

  private give(slot: Slot, job: Job): void {
    slot.job = job;
    if (job.heavy) this.heavyRunning++;
  }

  /** Takes its job off the slot (done, failed, timed out, worker lost, pool closing); null if it had none. */
  private takeJob(slot: Slot): Job | null {
    const job = slot.job;
    if (!job) return null;
    slot.job = null;
    if (job.heavy) this.heavyRunning--;
    if (slot.timer) clearTimeout(slot.timer);
    return job;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job || slot.retiring || !slot.ready) continue;
      const job = this.nextJobFor(slot);
      if (!job) continue;
      const shipments: LayerShipment[] = job.layers.map((l) => {
        if (slot.layers.get(l.key) === l.version) return { key: l.key, version: l.version };
        slot.layers.set(l.key, l.version);
        return l;
      });
      this.give(slot, job);
      // Posted after: the worker reads the flag only while running the task this message starts.
      Atomics.store(slot.abandoned, 0, 0);
      slot.worker.ref();
      slot.jobId = this.nextJobId++;
      slot.timer = setTimeout(() => this.onTimeout(slot), job.timeoutMs);
      const msg: ToWorker = {
        type: 'task', id: slot.jobId, task: job.task, module: job.module, payload: job.payload, layers: shipments, share: this.sharedResults.mayShare(),
      };
      slot.worker.postMessage(msg, job.transfer);
    }
  }
}
