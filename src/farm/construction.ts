// Storing a submitted job without holding the event loop. A cap-size job has some 40,000 tasks, and
// storing them in one synchronous SQLite transaction held the loop for over a second (no tile, no
// health check answered meanwhile). Instead the job row goes in first, under construction
// (Flamenco's status for a job whose tasks are being made), which every read of jobs passes
// over; its tasks follow in chunks, each made as it is stored and stored in a transaction of its
// own, with a turn of the event loop between two; the last step makes the job queued. A job whose
// storing fails is deleted; one that a crash cuts short is deleted when its manager opens the farm
// again (Farm.open), or by another manager once its own has been silent too long (Seeder.beat).
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ApiError } from '../http/errors.js';
import { deleteHidden } from './deletion.js';
import type { JobStore } from './job-store.js';
import { blockSize, jobBlocks, tileCount } from './tile-grid.js';
import { UNDER_CONSTRUCTION, type JobRecord, type JobSpec, type TaskRecord } from './types.js';

/** Tasks per transaction: 3–6 ms of SQLite inserts, commit included, 30 at most (two shared vCPUs, 120,000 tasks stored). */
export const TASKS_PER_CHUNK = 250;

/** The job's tasks, made as they are asked for, `size` at a time. */
function* taskChunks(job: JobRecord, size: number): Generator<TaskRecord[]> {
  let chunk: TaskRecord[] = [];
  let position = 0;
  for (const b of jobBlocks(job.bbox, job.zoom)) {
    // Field by field: `{ ...b, … }` made slow dictionary-mode objects, most of the time a task took.
    chunk.push({
      z: b.z, xMin: b.xMin, xMax: b.xMax, yMin: b.yMin, yMax: b.yMax, id: randomUUID(), jobId: job.id, position: position++, status: 'queued',
      activity: '', worker: null, manager: null, cleared: false, nextIndex: 0, generated: 0, skipped: 0, failed: 0, tilesTotal: blockSize(b),
      updated: job.created,
    });
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}

/** Stores a job submitted to `manager` with all its tasks; answers its id and task count once it is queued. */
export async function storeJob(jobs: JobStore, spec: JobSpec, manager: string): Promise<{ id: string; tasks: number }> {
  const now = Date.now();
  const job: JobRecord = {
    ...spec, id: randomUUID(), status: UNDER_CONSTRUCTION, activity: 'storing its tasks', tilesTotal: tileCount(spec.bbox, spec.zoom), manager,
    created: now, updated: now,
  };
  await jobs.createJob(job);
  let tasks = 0;
  try {
    for (const chunk of taskChunks(job, TASKS_PER_CHUNK)) {
      await nextTurn();
      await jobs.addTasks(chunk);
      tasks += chunk.length;
    }
    if (!await jobs.setJobStatus(job.id, 'queued', 'queued', [UNDER_CONSTRUCTION])) throw new Error('it was removed while its tasks were stored');
  } catch (err) {
    // Best effort: what a failing database keeps is removed later, as a crash's would be.
    await jobs.hideForDeletion([job.id], manager).then((ids) => deleteHidden(jobs, ids)).catch(() => {});
    // Nothing the client sent: the database failed, or another instance took the job for one a
    // stopped manager left (a restart under the same manager name). Submitting again may succeed.
    if (err instanceof ApiError) throw err;
    throw new ApiError(503, 'JOB_NOT_STORED', `The job could not be stored (${(err as Error).message}); submit it again.`, undefined, { 'Retry-After': '1' });
  }
  return { id: job.id, tasks };
}
