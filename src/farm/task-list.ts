// Listing tasks without holding the event loop. GET /tasks?job= answers all of a job's tasks at once
// (Flamenco's fetchJobTasks has no paging): 39,375 at the cap, which read, shaped and made JSON in one
// pass held the loop 0.5–0.7 s on SQLite. They are read in pages by position instead, a turn of the
// event loop before each, and each page is made JSON bytes on its own; the answer is those bytes
// (joined as bytes: joining and encoding 15 MB of text at the end held the loop another ~35 ms). The
// pages are not one snapshot: a task may change between two, as it may once the answer is sent.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { JobStore } from './job-store.js';
import type { JobRecord, TaskRecord } from './types.js';
import { taskView } from './views.js';

/** Tasks a page: 8–11 ms of SQLite reading and 4–6 of shaping on two shared vCPUs (twice that held the loop up to 55 ms). */
export const TASKS_PER_PAGE = 1000;

/** A job's tasks in position order, a page at a time, whatever its status (tasksJson checks it once they are read). */
export async function* taskPages(jobs: JobStore, jobId: string): AsyncGenerator<TaskRecord[]> {
  for (let after = -1; ;) {
    await nextTurn();
    const page = await jobs.taskPage(jobId, after, TASKS_PER_PAGE);
    if (page.length > 0) yield page;
    if (page.length < TASKS_PER_PAGE) return;
    after = page[page.length - 1].position;
  }
}

const COMMA = Buffer.from(',');

/**
 * `{"tasks": […]}` of the tasks of `listed` (shown jobs), job after job, as taskView shows them;
 * `hidden`: those of them hidden meanwhile (being deleted), left out.
 */
export async function tasksJson(jobs: JobStore, listed: readonly JobRecord[]): Promise<{ json: Buffer; hidden: string[] }> {
  const items: Buffer[] = [];
  const hidden: string[] = [];
  for (const job of listed) {
    const pages: Buffer[] = [];
    for await (const page of taskPages(jobs, job.id)) pages.push(Buffer.from(JSON.stringify(page.map((t) => taskView(t, job))).slice(1, -1)));
    // Hidden midway (its deletion begun), its later pages may have lost tasks: none of it rather than
    // part. A shown job is hidden for good, and before any of its tasks goes, so one still shown once
    // its last page is read was whole while they were read: this one check keeps a job whole or out.
    if (await jobs.job(job.id)) items.push(...pages);
    else hidden.push(job.id);
  }
  return { json: Buffer.concat([Buffer.from('{"tasks":['), ...items.flatMap((b, i) => (i > 0 ? [COMMA, b] : [b])), Buffer.from(']}')]), hidden };
}
