// The pool as the management API shows it and as plugins' pool work meets it over HTTP: real worker
// figures, per-worker project caches kept in step, restart under load, a worker killed mid-request.
// (The pool's own dispatch, crash and timeout handling are tested in pool.test.ts.)
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempProjectsRoot } from './helpers/qgis.js';
import { ADMIN, AUTH_ENV } from './helpers/auth.js';
import { startServer, tempData, type TestServer } from './helpers/server.js';

/** A plugin whose route runs a task in the pool: it echoes after a pause, or kills its worker thread. */
function workPlugin(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-plugins-'));
  mkdirSync(join(dir, 'work'));
  writeFileSync(join(dir, 'work/metadata.txt'), '[general]\nname=work\nversion=1\nserver=True\n');
  writeFileSync(join(dir, 'work/index.mjs'), `export default function register(s) {
  s.task('work', './task.mjs');
  s.route('GET', '/work', async (ctx) => { ctx.body = await s.run('work', { ms: Number(ctx.query.ms ?? 0), value: ctx.query.value, crash: ctx.query.crash === '1' }); });
}\n`);
  writeFileSync(join(dir, 'work/task.mjs'), `export default async function work(p) {
  if (p.crash) process.exit(3);
  await new Promise((r) => setTimeout(r, p.ms));
  return { value: p.value };
}\n`);
  return dir;
}

async function pool(s: TestServer) {
  const res = await fetch(`${s.managementUrl}/pool/`);
  assert.equal(res.status, 200);
  return await res.json() as any;
}

describe('pool management API', () => {
  let s: TestServer;
  let root: string;
  let plugins: string;
  before(async () => {
    root = tempProjectsRoot();
    plugins = workPlugin();
    s = await startServer({ dataDir: tempData({ copySample: true }), env: {
      ...AUTH_ENV, MERIDIAN_PROJECTS: root, MERIDIAN_PLUGINS: plugins, MERIDIAN_MANAGEMENT_PORT: '0', MERIDIAN_WORKERS: '2',
      MERIDIAN_PROJECT_PRELOAD: 'projects/world110.qgz',
    } });
  });
  after(async () => { await s.stop(); rmSync(root, { recursive: true, force: true }); rmSync(plugins, { recursive: true, force: true }); });

  it('reports each worker with its OS thread id and its memory', async () => {
    const body = await pool(s);
    assert.equal(body.num_workers, 2);
    assert.equal(body.workers.length, 2);
    const pids = body.workers.map((w: any) => w.pid);
    assert.equal(new Set(pids).size, 2);
    for (const w of body.workers) {
      assert.ok(existsSync(`/proc/${process.pid}/task/${w.pid}`), `thread ${w.pid} is a thread of this process`);
      assert.notEqual(w.pid, process.pid);
      assert.ok(w.mem_usage > 1024 * 1024, `mem_usage ${w.mem_usage}`);
      assert.ok(w.mem_percent > 0 && w.mem_percent < 100);
    }
  });

  it('shows the same projects in every worker, loaded, reloaded and evicted everywhere at once', async () => {
    const m = s.managementUrl!;
    /** Both workers, counted first: a loop over none would check nothing. */
    const workers = async () => {
      const all = (await pool(s)).workers;
      assert.equal(all.length, 2);
      return all;
    };
    assert.equal((await fetch(`${m}/cache/projects/world110`)).status, 200);
    for (const w of await workers()) {
      assert.deepEqual(w.cache.map((c: any) => [c.key, c.num_layers, c.static]).sort(), [['projects/world110', 3, false], ['projects/world110.qgz', 2, true]]);
      for (const c of w.cache) assert.equal((await (await fetch(c.link)).json() as any).cache_key, c.key);
    }
    assert.deepEqual(await (await fetch(`${m}/cache/projects/world110`, { method: 'DELETE' })).json(), { status: 'ok' });
    for (const w of await workers()) assert.deepEqual(w.cache.map((c: any) => c.key), ['projects/world110.qgz']);
    assert.equal((await fetch(`${m}/cache/projects/missing_layer`, { method: 'PUT' })).status, 200);
    for (const w of await workers()) assert.deepEqual(w.cache.map((c: any) => c.key).sort(), ['projects/missing_layer', 'projects/world110.qgz']);
  });

  it('restarts every worker under a running load without losing a request; new workers hold the same cache', async () => {
    const before = new Set((await pool(s)).workers.map((w: any) => w.pid));
    const load = Array.from({ length: 24 }, (_, i) => s.get(`/qgis/work?ms=40&value=${i}`).then(async (r) => [r.status, (await r.json() as any).value]));
    await new Promise((r) => setTimeout(r, 60));
    const restart = await fetch(`${s.managementUrl}/pool/restart`, { method: 'POST' });
    assert.deepEqual(await restart.json(), { status: 'ok' });
    const answers = await Promise.all(load);
    assert.deepEqual(answers, Array.from({ length: 24 }, (_, i) => [200, String(i)]));
    const body = await pool(s);
    assert.equal(body.workers.length, 2);
    for (const w of body.workers) {
      assert.ok(!before.has(w.pid), `worker ${w.pid} is new`);
      assert.deepEqual(w.cache.map((c: any) => c.key).sort(), ['projects/missing_layer', 'projects/world110.qgz']);
    }
  });

  it('answers a clean 503 when the worker dies mid-request, and replaces the worker', async () => {
    const before = (await pool(s)).workers.map((w: any) => w.pid);
    const res = await s.get('/qgis/work?crash=1');
    assert.equal(res.status, 503);
    const err = await res.json() as any;
    assert.equal(err.code, 'WORKER_FAILED');
    const after = (await pool(s)).workers.map((w: any) => w.pid);
    assert.equal(after.length, 2);
    assert.equal(after.filter((p: number) => !before.includes(p)).length, 1, 'exactly one worker was replaced');
    const again = await s.get('/qgis/work?value=ok');
    assert.deepEqual(await again.json(), { value: 'ok' });
  });

  it('serves administrators only on the public port', async () => {
    const before = (await pool(s)).workers.map((w: any) => w.pid).sort();
    assert.equal((await s.get('/pool/')).status, 401);
    const res = await s.get('/pool/restart', { method: 'POST' });
    assert.equal(res.status, 401);
    assert.equal((await res.json() as any).httpcode, 401);
    assert.deepEqual((await pool(s)).workers.map((w: any) => w.pid).sort(), before, 'no restart happened');
    const admin = await s.get('/pool/', { headers: ADMIN });
    assert.equal(admin.status, 200);
    assert.deepEqual(((await admin.json()) as any).workers.map((w: any) => w.pid).sort(), before);
  });
});

describe('pool memory high-water mark', () => {
  let s: TestServer;
  before(async () => { s = await startServer({ env: { MERIDIAN_MANAGEMENT_PORT: '0', MERIDIAN_WORKERS: '1', MERIDIAN_POOL_MEMORY_MB: '1' } }); });
  after(() => s.stop());

  it('recycles the largest worker once the workers use more than the mark', async () => {
    // Any worker heap is above 1 MB: each task's end recycles the worker that ran it.
    const first = (await pool(s)).workers[0].pid;
    const second = (await pool(s)).workers[0].pid;
    assert.notEqual(first, second);
    assert.ok(s.services.pool.stats().recycled >= 2);
    assert.equal(s.services.pool.stats().workers.filter((w) => !w.retiring).length, 1);
  });
});
