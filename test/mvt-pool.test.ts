// The worker pool behind the tile endpoints, seen over HTTP: a worker that dies answers 503 JSON
// and is replaced; a pool restart under load loses no request.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { taskModule } from '../src/pool/pool.js';
import { TILE_TASK } from '../src/tiling/layers.js';
import { decode } from './helpers/mvt.js';
import { until } from './helpers/wait.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
/** What the server logs, as objects. */
const logged: { msg: string; path?: string; status?: number }[] = [];
before(async () => {
  server = await startServer({ env: { MERIDIAN_WORKERS: '2' }, log: pino({ level: 'info' }, { write: (line: string) => { logged.push(JSON.parse(line)); } }) });
});
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
  const requests = paths.map((p) => server.get(p));
  await new Promise((r) => setTimeout(r, 5));
  await pool.restart();
  const statuses = await Promise.all(requests.map(async (r) => { await (await r).arrayBuffer(); return (await r).status; }));
  assert.deepEqual(statuses.filter((s) => s !== 200 && s !== 204), []);
  assert.ok(statuses.filter((s) => s === 200).length > 10);
  assert.ok(pool.stats().workers.every((w) => !oldThreads.has(w.threadId)));
});

test('tiles, images and identify searches whose clients have gone are dropped from the queue, and made afresh for the next client', async () => {
  const { pool } = server.services;
  pool.register('fixture', taskModule('./fixtures/pool-tasks.js', import.meta.url));
  // Both layers prepared for tiles (a preparation is never dropped: other tiles need it).
  for (const id of [2, 6]) assert.equal((await server.get(`/api/resource/${id}/0/0/0.mvt?padding=0.01`)).status, 200);
  // A wavy ring of 2,400 vertices: an identify search worth a worker (OFFLOAD_VERTICES).
  const ring = Array.from({ length: 2401 }, (_, k) => {
    const a = (k % 2400 / 2400) * 2 * Math.PI, r = 12 + 3 * Math.sin(a * 17);
    return `${r * Math.cos(a)} ${r * Math.sin(a)}`;
  });
  const identify = { method: 'POST', body: JSON.stringify({ srs: 4326, geom: `POLYGON((${ring.join(',')}))`, layers: [2] }) };
  const paths = [
    '/api/component/feature_layer/mvt?resource=2,6&z=1&x=1&y=0', // anonymous, before Koa
    '/api/resource/2/0/0/0.mvt?padding=0.15', // through Koa
    '/api/component/render/tile?z=1&x=0&y=0&resource=4',
    '/api/component/render/image?extent=-2000000,-2000000,2000000,2000000&size=300,300&resource=4',
    '/api/feature_layer/identify',
  ];
  const init = (path: string): RequestInit => (path.endsWith('identify') ? identify : {});
  const before = pool.stats();
  const sleeps = [1, 2].map(() => pool.run('fixture', { action: 'sleep', ms: 3000 }));
  await until(() => pool.stats().workers.every((w) => w.busy));
  const clients = paths.map(() => new AbortController());
  const asked = paths.map((path, i) => server.get(path, { ...init(path), signal: clients[i].signal }).catch((e: Error) => e.name));
  await until(() => pool.stats().queued === paths.length);
  assert.equal(pool.stats().queued, paths.length, 'each request waits for a worker');
  const loggedBefore = logged.length;
  for (const c of clients) c.abort();
  assert.deepEqual(await Promise.all(asked), paths.map(() => 'AbortError'));
  await until(() => pool.stats().queued === 0);
  assert.equal(pool.stats().queued, 0, 'dropped while the workers were still busy');
  assert.equal(pool.stats().abandoned - before.abandoned, paths.length);
  // Each logged once, as gone: the anonymous tile is not asked again through Koa.
  await until(() => logged.slice(loggedBefore).filter((l) => l.msg === 'request').length >= paths.length);
  assert.deepEqual(logged.slice(loggedBefore).filter((l) => l.msg === 'request').map((l) => [l.path, l.status]).sort(),
    paths.map((p) => [p.split('?')[0], 499]).sort());
  await Promise.all(sleeps);
  assert.equal(pool.stats().workers.reduce((n, w) => n + w.tasksDone, 0) - before.workers.reduce((n, w) => n + w.tasksDone, 0), 2, 'only the sleeps ran');
  // Asked again: made now, not the abandoned productions' failure.
  const tile = await server.get(paths[0], { headers: { 'accept-encoding': 'identity' } });
  assert.deepEqual([tile.status, tile.headers.get('x-tile-cache')], [200, 'miss']);
  assert.ok(decode(new Uint8Array(await tile.arrayBuffer())).layers['ngw:6'].length > 0);
  for (const path of paths.slice(1)) assert.equal((await server.get(path, init(path))).status, 200, path);
});

test('a large image waits while heavy work holds all the workers it may; tiles still find one', async () => {
  const { pool } = server.services;
  pool.register('fixture', taskModule('./fixtures/pool-tasks.js', import.meta.url));
  const heavyWork = pool.run('fixture', { action: 'sleep', ms: 2000 }, { heavy: true });
  await until(() => pool.stats().workers.some((w) => w.busy));
  const image = server.get('/api/component/render/image?extent=-2000000,-2000000,2000000,2000000&size=2000,2000&resource=4');
  await until(() => pool.stats().queued === 1);
  const tile = await server.get('/api/component/render/tile?z=2&x=2&y=1&resource=4');
  assert.deepEqual([tile.status, tile.headers.get('x-tile-cache')], [200, 'miss'], 'drawn on the free worker');
  assert.equal(pool.stats().queued, 1, 'the 2000×2000 image still waits');
  await heavyWork;
  const drawn = await image;
  assert.equal(drawn.status, 200);
  assert.equal(drawn.headers.get('content-type'), 'image/png');
});
