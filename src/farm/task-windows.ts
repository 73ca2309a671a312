// Updating all of a job's tasks without holding the event loop: one UPDATE of a cap-size job's
// ~40,000 tasks (a cancel, a reset) held SQLite's loop 170–420 ms. The update runs a window of task
// positions at a time instead (positions run 0 … tasks − 1, see construction.ts), a turn of the event
// loop before each. The job's status keeps its tasks from being claimed meanwhile (a canceled job's
// are changed after it is, a reset job's before it is queued again).
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { JobStore } from './job-store.js';
import type { TaskWindow } from './types.js';

/** Task positions a window covers: some 10 ms of SQLite, commit included. */
export const TASKS_PER_WINDOW = 1000;

/** Runs `update` over the job's tasks, window after window. */
export async function inTaskWindows(jobs: JobStore, jobId: string, update: (window: TaskWindow) => Promise<void>): Promise<void> {
  const positions = await jobs.taskPositions(jobId);
  for (let from = 0; from < positions; from += TASKS_PER_WINDOW) {
    await nextTurn();
    await update({ from, to: from + TASKS_PER_WINDOW });
  }
}
