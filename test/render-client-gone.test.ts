// A large image whose client leaves while it is being drawn: the render stops early and its worker
// is free for the next request, instead of drawing for seconds more for no one.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { RENDER_TASK } from '../src/render/task.js';
import { writePointLayer } from './helpers/point-layer.js';
import { startServer, tempData, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

const WORLD = 20037508;
const image = (size: number, extent: number[]) => `/api/component/render/image?resource=2&size=${size},${size}&extent=${extent.join(',')}`;
/** 4096² of the whole world over 200,000 points: 13–19 s of a worker's time, most of it rasterizing. */
const LARGE = image(4096, [-WORLD, -WORLD, WORLD, WORLD]);
/** A few hundred of the points. */
const SMALL = image(256, [-2_000_000, -11_000_000, 0, -9_000_000]);

let server: TestServer;
const logged: { msg: string; path?: string; status?: number }[] = [];
before(async () => {
  const dir = tempData({ catalog: { resources: [
    { id: 1, cls: 'vector_layer', parent: 0, display_name: 'Points', keyname: 'points', source: 'points.geojson' },
    { id: 2, cls: 'qgis_vector_style', parent: 1, display_name: 'Dots', style: { marker: { shape: 'circle', size: 2, unit: 'MM', fill: '#cc3333' } } },
  ] } });
  await writePointLayer(join(dir, 'points.geojson'), 200_000);
  // One worker: the large image holds it, so whatever comes next waits for it to be free.
  server = await startServer({ dataDir: dir, env: { MERIDIAN_WORKERS: '1' }, log: pino({ level: 'info' }, { write: (line: string) => { logged.push(JSON.parse(line)); } }) });
});
after(() => server?.stop());

test('a large image whose client leaves stops drawing: the next request is answered at once, and the pool counts the stop', async () => {
  const { pool } = server.services;
  // The layer prepared for tiles (a worker's first job) and shipped to the worker, the render code loaded.
  assert.equal((await server.get('/api/resource/1/0/0/0.mvt')).status, 200);
  assert.equal((await server.get(SMALL)).status, 200);
  const before = pool.stats();
  const client = new AbortController();
  const large = server.get(LARGE, { signal: client.signal }).catch((e: Error) => e.name);
  await until(() => pool.stats().workers[0].task === RENDER_TASK, 10_000);
  assert.equal(pool.stats().workers[0].task, RENDER_TASK, 'the large image is being drawn');
  // At once: projecting and writing 200,000 points take about a second, rasterizing (which cannot be
  // stopped) comes after; a later abort could find the worker there on a fast machine.
  client.abort();
  assert.equal(await large, 'AbortError');
  const asked = performance.now();
  const small = await server.get(SMALL);
  const ms = performance.now() - asked;
  assert.equal(small.status, 200);
  assert.equal(small.headers.get('content-type'), 'image/png');
  // Drawn to its end, the large image would hold the worker for 10 s or more (about 35 s on a loaded 2-vCPU machine).
  assert.ok(ms < 5000, `the next image waited ${ms.toFixed(0)} ms`);
  const stats = pool.stats();
  assert.deepEqual([stats.stopped - before.stopped, stats.abandoned - before.abandoned], [1, 0], 'stopped while drawn, not dropped from the queue');
  assert.equal(stats.workers[0].threadId, before.workers[0].threadId, 'the worker was not replaced');
  await until(() => logged.some((l) => l.msg === 'request' && l.status === 499));
  assert.deepEqual(logged.filter((l) => l.msg === 'request' && l.status === 499).map((l) => l.path), ['/api/component/render/image'], 'logged as the client leaving');
});
