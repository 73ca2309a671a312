// A seeding job survives kill -9: the server process is killed mid-job, restarted over the same
// folder, and the job finishes with every tile of its area stored, none missing and none made twice
// (tiles stored before the kill keep their files; the restarted process writes exactly the rest).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ADMIN_PASSWORD } from './helpers/auth.js';
import { startMeridian } from './helpers/child.js';
import { expectedTiles, farm, waitForJob } from './helpers/farm.js';
import { tempData } from './helpers/server.js';

/** "z/x/y" → file identity (inode and modification time in ns) of every stored tile. */
function storedFiles(root: string): Map<string, string> {
  if (!existsSync(root)) return new Map();
  return new Map(readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => {
    const full = join(e.parentPath, e.name);
    const st = statSync(full, { bigint: true });
    return [relative(root, full).split(sep).join('/').replace(/\.mvt$/, ''), `${st.ino}:${st.mtimeNs}`];
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
      // Killed as soon as some tiles are saved as done (progress is saved twice a second), many being left.
      let mid;
      do mid = (await farm(child, 'GET', `/jobs/${id}`)).body; while (mid.progress.tiles_done === 0);
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
});
