// Deleting jobs without holding the event loop. One DELETE of a cap-size job (~40,000 task rows, by
// cascade) held the loop 120–140 ms on SQLite, and a bulk delete held it for all its jobs at once.
// A job is hidden first (status deleting, which every read of jobs and every claim passes over, as
// a job under construction), so no one sees it with part of its tasks; they go in chunks, a turn of
// the event loop before each, and its row last. Hiding gives it to the manager deleting it: a
// deletion that a crash cuts short is finished when that manager opens the farm again, or by another
// once it has been silent too long, as a submission cut short is (Farm.open, Seeder.beat). Tasks cannot go after
// their job instead: the job's row going takes them all at once (ON DELETE CASCADE).
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { JobStore } from './job-store.js';

/** Tasks a chunk: ~10 ms of SQLite deleting, commit included, 25 at most on two shared vCPUs (twice that: up to 60). */
export const TASKS_PER_DELETE = 1000;

/** Deletes hidden jobs (JobStore.hideForDeletion, takeInterrupted, takeAbandoned) with their tasks; answers how many went. */
export async function deleteHidden(jobs: JobStore, ids: readonly string[]): Promise<number> {
  let deleted = 0;
  for (const id of ids) {
    do await nextTurn(); while (await jobs.deleteTasks(id, TASKS_PER_DELETE) === TASKS_PER_DELETE);
    deleted += await jobs.deleteJobs([id]);
  }
  return deleted;
}
