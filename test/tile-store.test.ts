// The persistent tile store: tiles written on disk by the MVT endpoints, served from disk after a
// restart (the memory cache is then empty), dropped when a layer changes; the store's own bound.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { readConfig } from '../src/config.js';
import { start } from '../src/server.js';
import { TileStore } from '../src/tiles/store.js';
import { stored, until } from './helpers/wait.js';
import { decode, features } from './helpers/mvt.js';
import { SAMPLE_STYLES, tempData } from './helpers/server.js';

async function serve(dataDir: string) {
  const config = readConfig(['--port', '0', '--host', '127.0.0.1', '--data', dataDir, '--styles', SAMPLE_STYLES], { MERIDIAN_MANAGEMENT_PORT: 'off' });
  const running = await start(config, pino({ level: 'silent' }));
  await running.layersLoaded;
  return running;
}

test('MVT tiles are written to the store, served from it after a restart, and dropped when the layer changes', async () => {
  const dataDir = tempData({ copySample: true });
  const servers: Awaited<ReturnType<typeof serve>>[] = [];
  try {
    const first = await serve(dataDir);
    servers.push(first);
    const a = await fetch(`${first.url}/api/resource/2/1/1/0.mvt`);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-tile-store'), 'miss');
    const body = Buffer.from(await a.arrayBuffer());
    const file = join(dataDir, 'tiles/mvt/2/1/1/0.mvt');
    await stored(file); // the answer does not wait for the write
    assert.deepEqual(readFileSync(file), body);
    // Non-default parameters are not stored.
    const custom = await fetch(`${first.url}/api/resource/2/1/1/0.mvt?extent=512`);
    assert.equal(custom.headers.get('x-tile-store'), null);
    await first.close();

    const second = await serve(dataDir);
    servers.push(second);
    const b = await fetch(`${second.url}/api/resource/2/1/1/0.mvt`);
    assert.equal(b.headers.get('x-tile-cache'), 'miss');
    assert.equal(b.headers.get('x-tile-store'), 'hit');
    assert.equal(b.headers.get('etag'), a.headers.get('etag'));
    const again = Buffer.from(await b.arrayBuffer());
    assert.deepEqual(again, body);
    assert.ok(features(decode(again), 'ngw:2').length > 0);
    // The next request is a memory hit: the store is not asked.
    const c = await fetch(`${second.url}/api/resource/2/1/1/0.mvt`);
    assert.equal(c.headers.get('x-tile-cache'), 'hit');
    const stats = second.services.tileStore.stats();
    assert.deepEqual([stats.hits, stats.misses], [1, 0]);

    // The layer's data replaced while running: its stored tiles go.
    const state = second.services.catalog.layerState(2);
    assert.equal(state?.status, 'ready');
    second.services.catalog.setLayer(2, (state as { layer: any }).layer);
    // The index drops at once; the folder is removed asynchronously.
    assert.equal(second.services.tileStore.has({ format: 'mvt', resources: [2], z: 1, x: 1, y: 0 }), false);
    await until(() => !existsSync(file));
    assert.equal(existsSync(file), false);
    const d = await fetch(`${second.url}/api/resource/2/1/1/0.mvt`);
    assert.equal(d.headers.get('x-tile-store'), 'miss');
  } finally {
    for (const s of servers) await s.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

const addr = (x: number, resources = [1]) => ({ format: 'mvt' as const, resources, z: 3, x, y: 0 });

test('the store is bounded, evicting least recently used files, and drops interrupted writes at open', async () => {
  const root = mkdtempSync(join(tmpdir(), 'meridian-store-'));
  try {
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
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('invalidating a layer removes every resource set holding it, and a stale write is refused', async () => {
  const root = mkdtempSync(join(tmpdir(), 'meridian-store-'));
  try {
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
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
