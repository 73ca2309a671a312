// Seeding through the farm API on a real server: the exact tile set lands in the store and decodes,
// later requests are store hits, truncate removes exactly its area (store and memory cache), PNG
// seeding and reseeding.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import sharp from 'sharp';
import { TileWork } from '../src/farm/tile-work.js';
import type { JobSpec } from '../src/farm/types.js';
import { ApiError } from '../src/http/errors.js';
import { taskModule } from '../src/pool/pool.js';
import type { MemoryLayer } from '../src/store/memory-layer.js';
import { loadLayer } from '../src/store/open.js';
import { ADMIN, authServer } from './helpers/auth.js';
import { expectedTiles, farm, waitForJob } from './helpers/farm.js';
import { decode, features } from './helpers/mvt.js';
import type { TestServer } from './helpers/server.js';
import { stored } from './helpers/wait.js';

/** "z/x/y" of every file under one resource set of the store. */
function storedTiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/').replace(/\.(mvt|png)$/, '')).sort();
}

describe('seeding jobs', () => {
  let s: TestServer;
  let store: string;
  before(async () => {
    s = await authServer({ env: { MERIDIAN_WORKERS: '2', MERIDIAN_SEED_CONCURRENCY: '1' } });
    store = (await farm(s, 'GET', '/settings/render')).body.tile_store;
  });
  after(() => s.stop());

  const storeStats = async () => (await s.json('/monitor/1/http/caches/tile-store', { headers: ADMIN })).body;

  it('seeds exactly the tiles of its area into the store, decodable, then serves them as store hits', async () => {
    const bbox = [-20, -30, 40, 50];
    const job = await farm(s, 'POST', '/jobs', { type: 'seed', resources: [2], zoom: [0, 3], bbox });
    assert.equal(job.status, 201);
    const expected = expectedTiles(bbox, [0, 3]);
    assert.equal(job.body.progress.tiles_total, expected.length);
    const done = await waitForJob(s, job.body.id, ['completed', 'failed']);
    assert.equal(done.status, 'completed');
    assert.deepEqual([done.progress.tiles_done, done.progress.tiles_generated, done.progress.tiles_failed], [expected.length, expected.length, 0]);
    assert.equal(done.progress.eta_seconds, 0);

    const root = join(store, 'mvt', '2');
    assert.deepEqual(storedTiles(root), expected);
    let withFeatures = 0;
    for (const t of expected) {
      const body = readFileSync(join(root, `${t}.mvt`));
      if (body.length === 0) continue;
      const names = features(decode(body), 'ngw:2').map((f) => f.properties.name);
      assert.ok(names.length > 0, `tile ${t} holds countries`);
      withFeatures++;
    }
    assert.ok(withFeatures >= expected.length / 2, 'most tiles of the area hold countries');

    // Pre-cut tiles are made at once on the main thread, so the store is not read for them (making
    // one costs less): the same bytes as seeded, without a store hit.
    const hitsBefore = (await storeStats()).hit.responses;
    for (const t of ['0/0/0', '1/1/0']) {
      const res = await s.get(`/api/resource/2/${t}.mvt`);
      assert.deepEqual([res.status, res.headers.get('x-tile-store')], [200, null], t);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), readFileSync(join(root, `${t}.mvt`)));
    }
    // A tile a worker would cut, once seeded, is served from the store.
    const both = await farm(s, 'POST', '/jobs', { type: 'seed', resources: [2, 6], zoom: [1, 1], bbox: [10, 10, 40, 50] });
    assert.equal((await waitForJob(s, both.body.id, ['completed', 'failed'])).status, 'completed');
    const pooled = await s.get('/api/component/feature_layer/mvt?resource=2,6&z=1&x=1&y=0');
    assert.deepEqual([pooled.status, pooled.headers.get('x-tile-store')], [200, 'hit']);
    assert.deepEqual(Buffer.from(await pooled.arrayBuffer()), readFileSync(join(store, 'mvt', '2_6', '1/1/0.mvt')));
    assert.equal((await storeStats()).hit.responses - hitsBefore, 1, 'the monitoring counters saw one store hit');

    // Seeding again generates nothing: every tile is already stored.
    const again = await farm(s, 'POST', '/jobs', { type: 'seed', resources: [2], zoom: [0, 3], bbox });
    const second = await waitForJob(s, again.body.id, ['completed']);
    assert.deepEqual([second.progress.tiles_generated, second.progress.tiles_skipped], [0, expected.length]);
  });

  it('truncates exactly its area from the store and the memory cache', async () => {
    const all = [-20, -30, 40, 50];
    await waitForJob(s, (await farm(s, 'POST', '/jobs', { type: 'seed', resources: [2], zoom: [0, 3], bbox: all })).body.id, ['completed']);
    const root = join(store, 'mvt', '2');
    const before = storedTiles(root);
    // Warm the memory cache with a tile inside the area and one outside it.
    const inside = '3/4/2', outside = '3/3/3';
    for (const t of [inside, outside]) assert.equal((await s.get(`/api/resource/2/${t}.mvt`)).status, 200);
    const area = [0, 10, 40, 50];
    const zoom = [2, 3];
    const job = await farm(s, 'POST', '/jobs', { type: 'truncate', resources: [2], zoom, bbox: area });
    assert.equal(job.status, 201);
    const done = await waitForJob(s, job.body.id, ['completed']);
    assert.equal(done.progress.tiles_done, expectedTiles(area, zoom).length);
    const removed = new Set(expectedTiles(area, zoom));
    assert.ok(removed.has(inside) && !removed.has(outside));
    assert.deepEqual(storedTiles(root), before.filter((t) => !removed.has(t)));
    // The truncated tile is made again (memory and store miss); the other still comes from memory.
    const again = await s.get(`/api/resource/2/${inside}.mvt`);
    assert.deepEqual([again.headers.get('x-tile-cache'), again.headers.get('x-tile-store')], ['miss', 'miss']);
    assert.equal((await s.get(`/api/resource/2/${outside}.mvt`)).headers.get('x-tile-cache'), 'hit');
  });

  it('seeds PNG tiles of styles, which the render endpoint then reads from the store', async () => {
    const bbox = [-10, 35, 30, 60];
    const job = await farm(s, 'POST', '/jobs', { type: 'seed', format: 'png', resources: [3], zoom: [1, 2], bbox });
    assert.equal(job.status, 201);
    await waitForJob(s, job.body.id, ['completed']);
    const root = join(store, 'png', '3');
    const expected = expectedTiles(bbox, [1, 2]);
    assert.deepEqual(storedTiles(root), expected);
    const file = join(root, '2/2/1.png');
    const meta = await sharp(readFileSync(file)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 256, 256]);
    const res = await s.get('/api/component/render/tile?resource=3&z=2&x=2&y=1');
    assert.equal(res.headers.get('x-tile-store'), 'hit');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), readFileSync(file));
  });

  it('reseeds: its area is made again (new files), other tiles are kept', async () => {
    const bbox = [-10, 35, 30, 60];
    const root = join(store, 'png', '3');
    // A file's identity: inode and modification time in ns (a freed inode number can be reused).
    const identity = (t: string) => { const st = statSync(join(root, `${t}.png`), { bigint: true }); return `${st.ino}:${st.mtimeNs}`; };
    const inodes = new Map(storedTiles(root).map((t) => [t, identity(t)]));
    const area = [0, 40, 10, 50];
    const job = await farm(s, 'POST', '/jobs', { type: 'reseed', format: 'png', resources: [3], zoom: [2, 2], bbox: area });
    const done = await waitForJob(s, job.body.id, ['completed']);
    const redone = new Set(expectedTiles(area, [2, 2]));
    assert.equal(done.progress.tiles_generated, redone.size);
    assert.deepEqual(storedTiles(root), expectedTiles(bbox, [1, 2]));
    for (const [t, ino] of inodes) {
      assert.equal(identity(t) !== ino, redone.has(t), `tile ${t} ${redone.has(t) ? 'rewritten' : 'kept'}`);
    }
  });

  it('keeps rendered PNG tiles in the store (nd=200 still answers the empty PNG) and drops them when the styled layer changes', async () => {
    const root = join(store, 'png', '4');
    const tile = '/api/component/render/tile?resource=4&z=3&x=4&y=2';
    const first = await s.get(tile);
    assert.deepEqual([first.status, first.headers.get('x-tile-store')], [200, 'miss']);
    const body = Buffer.from(await first.arrayBuffer());
    await stored(join(root, '3/4/2.png')); // the answer does not wait for the store's write
    assert.deepEqual(readFileSync(join(root, '3/4/2.png')), body);
    assert.equal((await sharp(body).metadata()).width, 256);
    // An empty tile is stored as an empty file and answered as the shared empty PNG, or 204 with nd=204.
    const ocean = '/api/component/render/tile?resource=4&z=5&x=0&y=16';
    const empty = await s.get(ocean);
    assert.equal(empty.status, 200);
    assert.equal((await sharp(Buffer.from(await empty.arrayBuffer())).metadata()).width, 256);
    await stored(join(root, '5/0/16.png'));
    assert.equal(statSync(join(root, '5/0/16.png')).size, 0);
    assert.equal((await s.get(`${ocean}&nd=204`)).status, 204);

    // The layer under style 4 (and styles 3 and 5) gets new data: its styles' tiles go with it.
    const state = s.services.catalog.layerState(2) as { layer: any };
    s.services.catalog.setLayer(2, state.layer);
    for (const style of [3, 4]) assert.equal(s.services.tileStore.has({ format: 'png', resources: [style], z: 2, x: 2, y: 1 }), false);
    assert.equal(s.services.tileStore.has({ format: 'png', resources: [4], z: 3, x: 4, y: 2 }), false);
    const after = await s.get(tile);
    assert.equal(after.headers.get('x-tile-store'), 'miss');
  });

  it('waits while the pool sheds load, then seeds the tile (no tile failed for a busy pool)', async () => {
    const { pool } = s.services;
    pool.register('test.fixture', taskModule('./fixtures/pool-tasks.js', import.meta.url));
    await pool.run('test.fixture', { action: 'echo' }); // every worker of this name is up
    // Every worker busy for 2.5 s and the queue full behind them: the pool refuses the next task.
    const started = Date.now();
    const busy = Array.from({ length: pool.size }, () => pool.run('test.fixture', { action: 'sleep', ms: 2500 }));
    const queued = Array.from({ length: 64 * pool.size }, () => pool.run('test.fixture', { action: 'echo', value: 1 }));
    const refused = await pool.run('test.fixture', { action: 'echo' }).catch((e) => e);
    assert.ok(refused instanceof ApiError && refused.code === 'POOL_BUSY');

    const job = await farm(s, 'POST', '/jobs', { type: 'seed', format: 'png', resources: [3], zoom: [0, 0], bbox: [-180, -85, 180, 85] });
    const done = await waitForJob(s, job.body.id, ['completed', 'failed']);
    assert.deepEqual([done.status, done.progress.tiles_generated, done.progress.tiles_failed], ['completed', 1, 0]);
    assert.ok(Date.now() - started >= 2500, 'the tile was made once the workers were free');
    assert.equal((await sharp(readFileSync(join(store, 'png', '3', '0/0/0.png'))).metadata()).width, 256);
    await Promise.all([...busy, ...queued]);
  });

  it('a running task whose layer is replaced seeds the rest of its tiles from the new data', async () => {
    const job: JobSpec = { name: 'capitals', type: 'seed', format: 'mvt', resources: [11], zoom: [0, 0], bbox: [-180, -85, 180, 85], priority: 50 };
    const work = await TileWork.of(s.services, job); // what a task takes as it starts
    const original = (s.services.catalog.layerState(11) as { status: 'ready'; layer: MemoryLayer }).layer;
    const dir = mkdtempSync(join(tmpdir(), 'meridian-one-'));
    try {
      writeFileSync(join(dir, 'one.geojson'), JSON.stringify({ type: 'FeatureCollection', features: [
        { type: 'Feature', properties: { name: 'Only' }, geometry: { type: 'Point', coordinates: [10, 10] } },
      ] }));
      s.services.catalog.setLayer(11, await loadLayer(join(dir, 'one.geojson'), {}, 'one', pino({ level: 'silent' })));
      assert.equal(await work.seed({ z: 0, x: 0, y: 0 }), 'generated');
      const tile = decode(readFileSync(join(store, 'mvt', '11', '0/0/0.mvt')));
      assert.deepEqual(features(tile, 'ngw:11').map((f) => f.properties.name), ['Only'], 'not the capitals the task started with');
    } finally {
      s.services.catalog.setLayer(11, original);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
