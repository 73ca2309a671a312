// The worker pool behind the tile endpoints, seen over HTTP: a worker that dies answers 503 JSON
// and is replaced; a pool restart under load loses no request.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { taskModule } from '../src/pool/pool.js';
import { TILE_TASK } from '../src/tiling/layers.js';
import { decode } from './helpers/mvt.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
before(async () => { server = await startServer({ env: { MERIDIAN_WORKERS: '2' } }); });
after(() => server.stop());

test('a tile task that crashes its worker answers 503 WORKER_FAILED, and the worker is replaced', async () => {
  const { pool } = server.services;
  await server.get('/api/resource/2/0/0/0.mvt'); // workers up, layer prepared
  const before = pool.stats();
  pool.register(TILE_TASK, taskModule('./fixtures/crash-task.js', import.meta.url));
  try {
    // Not the default parameters (so not cut ahead at preparation), and too many vertices to cut on the main thread.
    const res = await server.json('/api/resource/2/0/0/0.mvt?padding=0.1');
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'WORKER_FAILED');
  } finally {
    pool.register(TILE_TASK, taskModule('../src/tiling/tile-task.js', import.meta.url));
  }
  const stats = pool.stats();
  assert.equal(stats.crashes, before.crashes + 1);
  assert.equal(stats.workers.length, 2);
  assert.notDeepEqual(stats.workers.map((w) => w.threadId).sort(), before.workers.map((w) => w.threadId).sort());
  // The failure was not cached: the same tile now comes out whole.
  const res = await server.get('/api/resource/2/0/0/0.mvt?padding=0.1', { headers: { 'accept-encoding': 'identity' } });
  assert.equal(res.status, 200);
  assert.ok(decode(new Uint8Array(await res.arrayBuffer())).layers['ngw:2'].length > 0);
});

test('restarting the pool under load loses no request', async () => {
  const { pool } = server.services;
  const oldThreads = new Set(pool.stats().workers.map((w) => w.threadId));
  const paths: string[] = [];
  for (let x = 0; x < 8; x++) for (let y = 0; y < 4; y++) paths.push(`/api/component/feature_layer/mvt?resource=2,6,9,11&z=3&x=${x}&y=${y}`);
  const requests = paths.map((p) => server.get(p, { headers: { 'cache-control': 'no-cache' } }));
  await new Promise((r) => setTimeout(r, 5));
  await pool.restart();
  const statuses = await Promise.all(requests.map(async (r) => { await (await r).arrayBuffer(); return (await r).status; }));
  assert.deepEqual(statuses.filter((s) => s !== 200 && s !== 204), []);
  assert.ok(statuses.filter((s) => s === 200).length > 10);
  assert.ok(pool.stats().workers.every((w) => !oldThreads.has(w.threadId)));
});
