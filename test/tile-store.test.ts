// The persistent tile store: tiles written on disk by the MVT endpoints (those costly to make),
// served from disk after a restart (the memory cache is then empty), dropped when a layer changes;
// the store's own bound.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { readConfig } from '../src/config.js';
import { start } from '../src/server.js';
import { TileCache, tileKey, type SharedTiles } from '../src/tiles/cache.js';
import { tileFor } from '../src/tiles/respond.js';
import { TileStore } from '../src/tiles/store.js';
import type { Services } from '../src/services.js';
import { stored, until } from './helpers/wait.js';
import { decode, features } from './helpers/mvt.js';
import { SAMPLE_STYLES, tempData } from './helpers/server.js';

async function serve(dataDir: string) {
  const config = readConfig(['--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--styles', SAMPLE_STYLES], { MERIDIAN_MANAGEMENT_PORT: 'off' });
  const running = await start(config, pino({ level: 'silent' }));
  await running.layersLoaded;
  return running;
}

// Countries and parallels together at z1 keep thousands of vertices (no single-layer tile pre-cut
// at preparation stands for them), more than the main thread cuts itself: the tile is cut in the
// worker pool, so the live path stores it. Countries' tile 1/1/0 comes pre-cut from the layer's
// preparation and 6/0/40 (open Pacific) is empty: both are answered on the main thread in
// microseconds, so the live path does not store them.
const POOL_TILE = { path: 'api/component/feature_layer/mvt?resource=2,6&z=1&x=1&y=0', file: '2_6/1/1/0' };
const PRE_CUT_TILE = '1/1/0', EMPTY_TILE = '6/0/40';

test('MVT tiles cut in the pool are written to the store, served from it after a restart, and dropped when the layer changes', async () => {
  const dataDir = tempData({ copySample: true });
  const servers: Awaited<ReturnType<typeof serve>>[] = [];
  const fileOf = (t: string) => join(dataDir, `tiles/mvt/${t}.mvt`);
  try {
    const first = await serve(dataDir);
    servers.push(first);
    const fetchTile = (s: typeof first, t: string) => fetch(`${s.url}/api/resource/2/${t}.mvt`);
    const fetchPoolTile = (s: typeof first, query = '') => fetch(`${s.url}/${POOL_TILE.path}${query}`);
    // Tiles made at once on the main thread do not ask the store (reading one costs more than making
    // it), once the layer is prepared for tiles: a tile with other parameters waits for that.
    const prepared = (s: typeof first) => fetch(`${s.url}/api/resource/2/0/0/0.mvt?padding=0.01`);
    await prepared(first);
    const cheap = await fetchTile(first, PRE_CUT_TILE);
    assert.deepEqual([cheap.status, cheap.headers.get('x-tile-cache'), cheap.headers.get('x-tile-store')], [200, 'miss', null]);
    const cheapBody = Buffer.from(await cheap.arrayBuffer());
    const empty = await fetchTile(first, EMPTY_TILE);
    assert.deepEqual([empty.status, empty.headers.get('x-tile-store')], [204, null]);
    const a = await fetchPoolTile(first);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-tile-store'), 'miss');
    const body = Buffer.from(await a.arrayBuffer());
    await stored(fileOf(POOL_TILE.file)); // the answer does not wait for the write
    assert.deepEqual(readFileSync(fileOf(POOL_TILE.file)), body);
    // The cheap tiles were answered first, so their writes would have been done by now.
    assert.equal(existsSync(fileOf(`2/${PRE_CUT_TILE}`)), false, 'a pre-cut tile is not written by the live path');
    assert.equal(existsSync(fileOf(`2/${EMPTY_TILE}`)), false, 'an empty tile is not written by the live path');
    assert.equal(first.services.tileStore.stats().writes, 1);
    // Non-default parameters are not stored.
    const custom = await fetchPoolTile(first, '&extent=512');
    assert.equal(custom.headers.get('x-tile-store'), null);
    await first.close();

    const second = await serve(dataDir);
    servers.push(second);
    const b = await fetchPoolTile(second);
    assert.equal(b.headers.get('x-tile-cache'), 'miss');
    assert.equal(b.headers.get('x-tile-store'), 'hit');
    assert.equal(b.headers.get('etag'), a.headers.get('etag'));
    const again = Buffer.from(await b.arrayBuffer());
    assert.deepEqual(again, body);
    assert.ok(features(decode(again), 'ngw:2').length > 0 && features(decode(again), 'ngw:6').length > 0);
    // Made again after the restart, the same: bytes and ETag.
    await prepared(second);
    const cheapAgain = await fetchTile(second, PRE_CUT_TILE);
    assert.deepEqual([cheapAgain.headers.get('x-tile-cache'), cheapAgain.headers.get('x-tile-store')], ['miss', null]);
    assert.equal(cheapAgain.headers.get('etag'), cheap.headers.get('etag'));
    assert.deepEqual(Buffer.from(await cheapAgain.arrayBuffer()), cheapBody);
    assert.ok(features(decode(cheapBody), 'ngw:2').length > 0);
    // The next request is a memory hit: the store is not asked.
    const c = await fetchPoolTile(second);
    assert.equal(c.headers.get('x-tile-cache'), 'hit');
    const stats = second.services.tileStore.stats();
    assert.deepEqual([stats.hits, stats.misses], [1, 0], 'the store asked once, for the pool tile');

    // The layer's data replaced while running: its stored tiles go.
    const state = second.services.catalog.layerState(2);
    assert.equal(state?.status, 'ready');
    second.services.catalog.setLayer(2, (state as { layer: any }).layer);
    // The index drops at once; the folder is removed asynchronously.
    assert.equal(second.services.tileStore.has({ format: 'mvt', resources: [2, 6], z: 1, x: 1, y: 0 }), false);
    await until(() => !existsSync(fileOf(POOL_TILE.file)));
    assert.equal(existsSync(fileOf(POOL_TILE.file)), false);
    const d = await fetchPoolTile(second);
    assert.equal(d.headers.get('x-tile-store'), 'miss');
  } finally {
    for (const s of servers) await s.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

const addr = (x: number, resources = [1]) => ({ format: 'mvt' as const, resources, z: 3, x, y: 0 });

/** Runs `check` over a fresh temporary store folder, removed afterwards. */
async function inStoreFolder(check: (root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'meridian-store-'));
  try {
    await check(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('the store is bounded, evicting least recently used files, and drops interrupted writes at open', () => inStoreFolder(async (root) => {
  const store = await TileStore.open(root, 3000);
  for (const x of [0, 1, 2]) assert.ok(await store.write(addr(x), Buffer.alloc(1000, x)));
  await store.read(addr(0)); // 0 is now the most recent
  await store.write(addr(3), Buffer.alloc(1000, 3));
  assert.equal(store.has(addr(1)), false);
  assert.equal(existsSync(join(root, 'mvt/1/3/1/0.mvt')), false);
  assert.ok(store.has(addr(0)) && store.has(addr(3)));
  assert.equal(store.stats().evictions, 1);
  writeFileSync(join(root, 'mvt/1/3/0/0.mvt.abc.tmp'), 'torn');
  const reopened = await TileStore.open(root, 3000);
  assert.deepEqual([reopened.stats().entries, reopened.stats().bytes], [3, 3000]);
  assert.deepEqual(readdirSync(join(root, 'mvt/1/3/0')), ['0.mvt']);
  assert.deepEqual(await reopened.read(addr(2)), Buffer.alloc(1000, 2));
}));

test('invalidating a layer removes every resource set holding it, and a stale write is refused', () => inStoreFolder(async (root) => {
  const store = await TileStore.open(root, 1 << 20);
  await store.write(addr(0, [1]), Buffer.from('a'));
  await store.write(addr(0, [2, 1]), Buffer.from('b'));
  await store.write(addr(0, [2]), Buffer.from('c'));
  const before = store.generations([1]);
  await store.invalidateLayer(1);
  assert.deepEqual(readdirSync(join(root, 'mvt')), ['2']);
  assert.equal(await store.write(addr(1, [1]), Buffer.from('old'), before), false);
  assert.equal(store.has(addr(1, [1])), false);
  assert.ok(store.has(addr(0, [2])));
}));

test('a tile written while its layer changes waits for the change: it stays on disk, and the source stamp is saved first', () => inStoreFolder(async (root) => {
  const store = await TileStore.open(root, 1 << 20);
  await store.write(addr(0, [1]), Buffer.from('old data'));
  // The layer's data is replaced; a tile of the new data is written at once, before the change
  // has removed the old tiles and recorded the new source (as a seeding job may, right after a load).
  const change = store.layerChanged(1, 'new-source', false);
  const generations = store.generations([1]);
  const written = store.write(addr(1, [1]), Buffer.from('new data'), generations);
  assert.equal(await written, true);
  // By the time the tile is stored, the source it was made from is on disk (a kill -9 now keeps it).
  assert.equal(JSON.parse(readFileSync(join(root, 'sources.json'), 'utf8'))[1], 'new-source');
  await change;
  assert.deepEqual([store.has(addr(0, [1])), store.has(addr(1, [1]))], [false, true]);
  assert.equal(readFileSync(join(root, 'mvt/1/3/1/0.mvt'), 'utf8'), 'new data', 'the new tile survives the old tiles\' removal');
  assert.equal(existsSync(join(root, 'mvt/1/3/0/0.mvt')), false);
  const reopened = await TileStore.open(root, 1 << 20);
  await reopened.layerChanged(1, 'new-source', true);
  assert.ok(reopened.has(addr(1, [1])), 'a start over the same source keeps it');
}));

test('layers changing together all have their source stamps saved', () => inStoreFolder(async (root) => {
  const store = await TileStore.open(root, 1 << 20);
  const layers = Array.from({ length: 20 }, (_, i) => i + 1);
  // As at a start, when every layer finishes loading at about the same time.
  await Promise.all(layers.map((id) => store.layerChanged(id, `source-${id}`, true)));
  const saved = JSON.parse(readFileSync(join(root, 'sources.json'), 'utf8'));
  assert.deepEqual(layers.filter((id) => saved[id] !== `source-${id}`), [], 'every stamp is on disk');
}));

test('tiles served live wait for a pause in requests to be written, are read while waiting, and are all written at a stop', () => inStoreFolder(async (root) => {
  const store = await TileStore.open(root, 1 << 20, 2500);
  const fileOf = (x: number) => join(root, `mvt/1/3/${x}/0.mvt`);
  // The store's pause timer does not hold a process open (a server's socket does): this one does.
  const serving = setInterval(() => {}, 1000);
  try {
    const first = store.writeLater(addr(0), Buffer.alloc(1000, 0), store.generations([1]));
    const second = store.writeLater(addr(1), Buffer.alloc(1000, 1), store.generations([1]));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(existsSync(fileOf(0)), false, 'nothing is written while requests come');
    assert.deepEqual(await store.read(addr(1)), Buffer.alloc(1000, 1), 'a waiting tile is read from memory');
    assert.deepEqual([store.stats().hits, store.stats().hitBytes], [1, 1000], 'as a store hit');
    // More bytes waiting than allowed: the oldest is written at once.
    const third = store.writeLater(addr(2), Buffer.alloc(1000, 2), store.generations([1]));
    assert.equal(await first, true);
    assert.deepEqual(readFileSync(fileOf(0)), Buffer.alloc(1000, 0));
    assert.equal(existsSync(fileOf(1)), false);
    // The pause comes: the rest is written.
    assert.deepEqual(await Promise.all([second, third]), [true, true]);
    assert.deepEqual(readFileSync(fileOf(2)), Buffer.alloc(1000, 2));
    // A tile of data changed while it waited is refused; a stop writes whatever still waits.
    const stale = store.writeLater(addr(3), Buffer.from('old'), store.generations([1]));
    const before = store.generations([1]);
    await store.invalidateLayer(1);
    assert.equal(await store.read(addr(3)), undefined, 'a waiting tile of a changed layer is not served');
    // A tile made from the old data but handed over after the change (a cut under way meanwhile).
    const late = store.writeLater(addr(5), Buffer.from('old too'), before);
    assert.equal(await store.read(addr(5)), undefined, 'nor one made before the change');
    const fresh = store.writeLater(addr(4, [2]), Buffer.from('new'), store.generations([2]));
    await store.flush();
    assert.deepEqual([await stale, await late, await fresh], [false, false, true]);
    assert.equal(readFileSync(join(root, 'mvt/2/3/4/0.mvt'), 'utf8'), 'new');
    assert.deepEqual([store.has(addr(3)), store.has(addr(5)), store.has(addr(4, [2]))], [false, false, true]);
  } finally {
    clearInterval(serving);
  }
}));

test('a tile made from data replaced while it was asked for is not written to the store', () => inStoreFolder(async (root) => {
  const store = await TileStore.open(root, 1 << 20);
  // A shared tier (Redis) that takes a moment to answer, during which the layer is reloaded.
  let sharedAnswers!: () => void;
  const shared: SharedTiles = {
    async through(_key, _layers, produce) {
      await new Promise<void>((r) => { sharedAnswers = r; });
      return { tile: await produce(), hit: false };
    },
  };
  const services = { tileStore: store, tileCache: new TileCache(1 << 20, shared), log: pino({ level: 'silent' }) } as unknown as Services;
  const address = { format: 'mvt' as const, resources: [1], z: 0, x: 0, y: 0 };
  const asked = tileFor(services, tileKey(address), [1], async () => ({ body: Buffer.from('old data'), etag: '"old"', contentType: 'x' }), { stored: address });
  await store.layerChanged(1, 'the new source', false);
  services.tileCache.invalidateLayer(1);
  sharedAnswers();
  assert.equal((await asked).tile.body.toString(), 'old data', 'the request asked before the reload');
  await store.flush();
  assert.equal(store.has(address), false);
  assert.equal(services.tileCache.hit(tileKey(address)), undefined);
}));
