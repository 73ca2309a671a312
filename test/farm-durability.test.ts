// A seeding job survives kill -9: the server process is killed mid-job, restarted over the same
// folder, and the job finishes with every tile of its area stored, none missing and none made twice
// (tiles stored before the kill keep their files; the restarted process writes exactly the rest).
// One killed while it was being stored, or deleted, is gone after the restart.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ADMIN_PASSWORD } from './helpers/auth.js';
import { startMeridian, type ChildServer } from './helpers/child.js';
import { AT_CAP, CAP_TASKS, expectedTiles, farm, jobUnderConstruction, sleepWorkers, waitForJob } from './helpers/farm.js';
import { tempData } from './helpers/server.js';

/** "z/x/y" → file identity (inode and modification time in ns) of every stored tile. */
function storedFiles(root: string): Map<string, string> {
  if (!existsSync(root)) return new Map();
  // A .tmp file is a write the kill interrupted: not a stored tile (the store deletes it at start).
  return new Map(readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.endsWith('.tmp')).map((e) => {
    const full = join(e.parentPath, e.name);
    const st = statSync(full, { bigint: true });
    return [relative(root, full).split(sep).join('/').replace(/\.(mvt|png)$/, ''), `${st.ino}:${st.mtimeNs}`];
  }));
}

describe('seeding across a kill -9', () => {
  const dir = tempData({ copySample: true });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { MERIDIAN_ADMIN_PASSWORD: ADMIN_PASSWORD, MERIDIAN_PASSWORD_COST: '10', MERIDIAN_WORKERS: '2', MERIDIAN_SEED_CONCURRENCY: '1', LOG_LEVEL: 'info' };

  it('resumes queued and interrupted tasks and finishes with no tile missing or generated twice', async () => {
    const bbox = [-180, -85, 180, 85];
    const zoom = [0, 6];
    const expected = expectedTiles(bbox, zoom);
    let child = await startMeridian(['--data', dir], env);
    let id: string;
    try {
      const job = await farm(child, 'POST', '/jobs', { type: 'seed', resources: [2], zoom, bbox });
      assert.equal(job.status, 201);
      id = job.body.id;
      // Killed as soon as some tiles are saved as done (progress is saved twice a second), many being
      // left, while a task with most of its tiles still to make runs (so it is one the kill interrupts).
      let mid;
      const running = async () => (await farm(child, 'GET', `/tasks?job=${id}`)).body.tasks
        .some((t: any) => t.status === 'active' && t.counts.tiles_total - t.counts.tiles_done >= 16);
      do mid = (await farm(child, 'GET', `/jobs/${id}`)).body; while (mid.progress.tiles_done === 0 || !await running());
      assert.equal(mid.status, 'active', 'the job is still running when killed');
    } finally {
      child.proc.kill('SIGKILL');
      await child.exited;
    }
    const root = join(dir, 'tiles', 'mvt', '2');
    const beforeRestart = storedFiles(root);
    assert.ok(beforeRestart.size > 0 && beforeRestart.size < expected.length, `${beforeRestart.size} of ${expected.length} tiles stored at the kill`);

    child = await startMeridian(['--data', dir], env);
    try {
      const done = await waitForJob(child, id, ['completed', 'failed'], 120_000);
      assert.equal(done.status, 'completed');
      assert.equal(done.progress.tiles_done, expected.length);
      assert.equal(done.progress.tiles_failed, 0);
      assert.ok(child.logs.some((l) => l.msg === 'seeding tasks interrupted by a stop queued again'), 'the interrupted task was queued again');
      const finished = await child.waitForLog((l) => l.msg === 'seeding job finished' && l.job === id);
      assert.deepEqual([finished.status, finished.done, finished.total], ['completed', expected.length, expected.length]);
      const afterRestart = storedFiles(root);
      assert.deepEqual([...afterRestart.keys()].sort(), expected, 'every tile of the area is stored, nothing else');
      for (const [tile, identity] of beforeRestart) assert.equal(afterRestart.get(tile), identity, `tile ${tile}, stored before the kill, was not made again`);
      const writes = (await farm(child, 'GET', '/settings/render')).body.writes;
      assert.equal(writes, expected.length - beforeRestart.size, 'the restarted server wrote exactly the missing tiles');
    } finally {
      child.proc.kill('SIGTERM');
      await child.exited;
    }
    const db = new Database(join(dir, 'meridian.db'), { readonly: true });
    try {
      const tasks = db.prepare('SELECT status, next_index, tiles_total FROM farm_task WHERE job_id = ?').all(id) as { status: string; next_index: number; tiles_total: number }[];
      assert.ok(tasks.length > 1);
      assert.ok(tasks.every((t) => t.status === 'completed' && t.next_index === t.tiles_total));
    } finally {
      db.close();
    }
  });

  const capped = { ...env, MERIDIAN_MAX_JOB_TILES: '10000000' };
  /** Rows of a job and its tasks. */
  const rows = (db: Database.Database, id: string) => (db.prepare('SELECT (SELECT COUNT(*) FROM farm_job WHERE id = ?) + (SELECT COUNT(*) FROM farm_task WHERE job_id = ?) AS n')
    .get(id, id) as { n: number }).n;

  /**
   * Runs `cut` on a server over a fresh copy of the data: it kills the server in the middle of some
   * work on a job and answers the job's id. The server started again must have removed that job, all
   * its rows, before it listened.
   */
  async function killedMidway(cut: (child: ChildServer & { url: string }, db: Database.Database) => Promise<string>): Promise<void> {
    const dir = tempData({ copySample: true });
    let child = await startMeridian(['--data', dir], capped);
    const db = new Database(join(dir, 'meridian.db'), { readonly: true });
    try {
      const id = await cut(child, db);
      child = await startMeridian(['--data', dir], capped);
      assert.equal(rows(db, id), 0, 'neither the job nor any of its tasks is left');
      const removed = await child.waitForLog((l) => l.msg === 'seeding jobs left under construction or half deleted by a stop removed');
      assert.equal(removed.jobs, 1);
      assert.ok(child.logs.indexOf(removed) < child.logs.findIndex((l) => l.msg === 'listening'), 'removed before the server listened');
      assert.deepEqual((await farm(child, 'GET', '/jobs')).body.jobs, []);
    } finally {
      child.proc.kill('SIGKILL');
      await child.exited;
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('removes at its restart a job that a kill -9 left under construction, before it answers anything', () => killedMidway(async (child, db) => {
    let answered = false;
    // The kill cuts the request short.
    const posted = farm(child, 'POST', '/jobs', AT_CAP).catch(() => undefined).finally(() => { answered = true; });
    let building;
    while (!answered && !(building = jobUnderConstruction(db))?.tasks) await sleep(2);
    child.proc.kill('SIGKILL');
    await child.exited;
    await posted;
    assert.ok(building, 'killed while the job was being stored');
    const left = jobUnderConstruction(db);
    assert.ok(left && left.tasks > 0 && left.tasks < CAP_TASKS, `the kill left part of it: ${JSON.stringify(left)}`);
    return left.id;
  }));

  it('finishes at its restart the deletion of a job that a kill -9 cut short, before it answers anything', () => killedMidway(async (child, db) => {
    await sleepWorkers(child);
    const id = (await farm(child, 'POST', '/jobs', AT_CAP)).body.id;
    const deleting = db.prepare(`SELECT 1 FROM farm_job WHERE id = ? AND status = 'deleting'`);
    let answered = false;
    const deleted = farm(child, 'DELETE', `/jobs/${id}`).catch(() => undefined).finally(() => { answered = true; });
    while (!answered && !(deleting.get(id) && rows(db, id) <= CAP_TASKS)) await sleep(2);
    child.proc.kill('SIGKILL');
    await child.exited;
    await deleted;
    assert.ok(deleting.get(id) && rows(db, id) > 1, `the kill left part of it: ${rows(db, id)} rows`);
    return id;
  }));

  it('queues again the tasks of a manager that stopped answering, and another manager sharing the database finishes the job', async () => {
    const shared = tempData({ copySample: true });
    const common = { ...env, MERIDIAN_MANAGER_TIMEOUT_S: '2' };
    // Two instances over one database (one job queue), each with its own tile store.
    const a = await startMeridian(['--data', shared], { ...common, MERIDIAN_TILE_STORE: 'tiles-a' });
    const b = await startMeridian(['--data', shared], { ...common, MERIDIAN_TILE_STORE: 'tiles-b' });
    try {
      const managers = (await farm(a, 'GET', '/managers')).body.managers;
      assert.equal(managers.length, 2, 'both instances registered in the shared database');
      const [aWorker] = await sleepWorkers(a);
      // PNG tiles take milliseconds each, so a task of 128 or 256 tiles runs long enough to be killed inside.
      const bbox = [-180, -85, 0, 85], zoom = [4, 5];
      const id = (await farm(b, 'POST', '/jobs', { type: 'seed', format: 'png', resources: [3], zoom, bbox })).body.id;
      const active = async () => (await farm(a, 'GET', `/tasks?job=${id}`)).body.tasks.filter((t: any) => t.status === 'active');
      while (!(await active()).some((t: any) => t.counts.tiles_done > 0));
      b.proc.kill('SIGKILL');
      await b.exited;
      const held = await active();
      assert.equal(held.length, 1, 'the killed manager held a task');
      assert.equal((await farm(a, 'POST', '/workers', { id: aWorker, status: 'awake' })).status, 204);
      const done = await waitForJob(a, id, ['completed', 'failed'], 120_000);
      assert.equal(done.status, 'completed');
      assert.equal(done.progress.tiles_done, expectedTiles(bbox, zoom).length);
      assert.ok(a.logs.some((l) => l.msg === 'seeding tasks of a silent manager queued again'));
      const resumed = (await farm(a, 'GET', `/tasks/${held[0].id}`)).body;
      assert.deepEqual([resumed.status, resumed.worker.manager], ['completed', managers.find((m: any) => m.name.endsWith('tiles-a')).uuid], 'the task was finished by the live manager');
      // Each store holds what its instance made; together, the whole area.
      const made = new Set([...storedFiles(join(shared, 'tiles-a', 'png', '3')).keys(), ...storedFiles(join(shared, 'tiles-b', 'png', '3')).keys()]);
      assert.deepEqual([...made].sort(), expectedTiles(bbox, zoom), 'the two stores together hold the whole area');
    } finally {
      for (const c of [a, b]) c.proc.kill('SIGKILL');
      await Promise.all([a.exited, b.exited]);
      rmSync(shared, { recursive: true, force: true });
    }
  });
});
