// File layers reloaded while the server runs: a source changed on disk (replaced, or rewritten in
// place) is read again and everything derived from it follows — tiles, rendered images, exports,
// ETags — while a source that cannot be read leaves the previous data serving.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { copyFileSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import sharp from 'sharp';
import { Catalog } from '../src/catalog/catalog.js';
import { readConfig } from '../src/config.js';
import { DatabaseConnections } from '../src/store/postgis/connections.js';
import { until } from './helpers/wait.js';
import { decode, features } from './helpers/mvt.js';
import { FIXTURES, startServer, tempData } from './helpers/server.js';

const square = (id: number, name: string, half: number) => ({
  type: 'Feature', id, properties: { name },
  geometry: { type: 'Polygon', coordinates: [[[-half, -half], [half, -half], [half, half], [-half, half], [-half, -half]]] },
});
const collection = (...features: unknown[]) => JSON.stringify({ type: 'FeatureCollection', features });

/** A server over `catalog` with sources polled every 50 ms, and what it logs. */
async function watching(dir: string) {
  const logged: { msg: string; resource?: number; error?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => { logged.push(JSON.parse(line)); } });
  const server = await startServer({ dataDir: dir, env: { MERIDIAN_SOURCE_CHECK_INTERVAL: '0.05' }, log });
  return { server, logged };
}

async function tileNames(server: Awaited<ReturnType<typeof startServer>>, id: number): Promise<string[]> {
  const res = await server.get(`/api/resource/${id}/0/0/0.mvt`);
  if (res.status === 204) return [];
  return features(decode(new Uint8Array(await res.arrayBuffer())), `ngw:${id}`).map((f) => String(f.properties.name)).sort();
}

/** Opaque pixels of the layer's style drawn on tile 0/0/0. */
async function paintedPixels(server: Awaited<ReturnType<typeof startServer>>): Promise<number> {
  const res = await server.get('/api/component/render/tile?z=0&x=0&y=0&resource=2');
  assert.equal(res.status, 200);
  const { data } = await sharp(Buffer.from(await res.arrayBuffer())).raw().ensureAlpha().toBuffer({ resolveWithObject: true });
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  return painted;
}

test('a GeoJSON source replaced or rewritten while running is reloaded: tiles, images, exports and ETags follow; a broken one keeps the old data', async () => {
  const dir = tempData({ catalog: { resources: [
    { id: 1, cls: 'vector_layer', display_name: 'Squares', source: 'squares.geojson' },
    { id: 2, cls: 'qgis_vector_style', parent: 1, display_name: 'fill', style: { fill: '#3366ccff' } },
  ] } });
  const source = join(dir, 'squares.geojson');
  writeFileSync(source, collection(square(1, 'small', 5)));
  const { server, logged } = await watching(dir);
  try {
    assert.deepEqual(await tileNames(server, 1), ['small']);
    const before = await server.get('/api/resource/1/0/0/0.mvt');
    const etag = before.headers.get('etag')!;
    const smallPixels = await paintedPixels(server);
    assert.ok(smallPixels > 0);

    // As editors save: a new file renamed over the old one.
    writeFileSync(`${source}.tmp`, collection(square(1, 'small', 5), square(2, 'large', 40)));
    renameSync(`${source}.tmp`, source);
    await until(async () => (await tileNames(server, 1)).length === 2, 5000);
    assert.deepEqual(await tileNames(server, 1), ['large', 'small']);
    const after = await server.get('/api/resource/1/0/0/0.mvt', { headers: { 'If-None-Match': etag } });
    assert.equal(after.status, 200, 'the old ETag no longer matches');
    assert.notEqual(after.headers.get('etag'), etag);
    assert.ok(await paintedPixels(server) > smallPixels * 10, 'the rendered tile shows the large square');
    const exported = await server.json('/api/resource/1/geojson');
    assert.deepEqual(exported.body.features.map((f: { properties: { name: string } }) => f.properties.name), ['small', 'large']);
    assert.equal((await server.json('/api/resource/1/feature_count')).body.total_count, 2);
    assert.ok(logged.some((l) => l.msg === 'layer reloaded' && l.resource === 1));

    // Rewritten in place with something unreadable: the layer keeps answering from its data.
    writeFileSync(source, '{"type": "FeatureCollection", "features": [');
    await until(() => logged.some((l) => l.msg === 'layer source cannot be loaded; its previous data stays'), 5000);
    const kept = logged.find((l) => l.msg === 'layer source cannot be loaded; its previous data stays')!;
    assert.equal(kept.resource, 1);
    assert.match(kept.error!, /^squares\.geojson: /, 'the message names the source, not its absolute path');
    await new Promise((r) => setTimeout(r, 300)); // six polls
    assert.equal(logged.filter((l) => l.msg === kept.msg).length, 1, 'a source that cannot be read is tried again only once it changes');
    assert.deepEqual(await tileNames(server, 1), ['large', 'small']);
    assert.equal((await server.json('/api/resource/1/feature_count')).body.total_count, 2);

    // Fixed in place: read again.
    writeFileSync(source, collection(square(3, 'only', 20)));
    await until(async () => (await tileNames(server, 1)).join() === 'only', 5000);
    assert.deepEqual(await tileNames(server, 1), ['only']);
    assert.equal((await server.json('/api/resource/1/feature/3')).body.fields.name, 'only');
    assert.equal((await server.get('/api/resource/1/feature/1')).status, 404);
  } finally {
    await server.stop();
  }
});

test('a source missing at start is served once it appears; a removed one keeps its data', async () => {
  const dir = tempData({ catalog: { resources: [{ id: 1, cls: 'vector_layer', display_name: 'Later', source: 'later.geojson' }] } });
  const source = join(dir, 'later.geojson');
  const { server, logged } = await watching(dir);
  try {
    const missing = await server.json('/api/resource/1/feature_count');
    assert.deepEqual([missing.status, missing.body.exception], [503, 'meridian.LAYER_UNAVAILABLE']);
    writeFileSync(source, collection(square(1, 'arrived', 5)));
    await until(async () => (await server.get('/api/resource/1/feature_count')).status === 200, 5000);
    assert.deepEqual(await tileNames(server, 1), ['arrived']);

    rmSync(source);
    await until(() => logged.some((l) => l.msg === 'layer source cannot be loaded; its previous data stays'), 5000);
    assert.deepEqual(await tileNames(server, 1), ['arrived']);
  } finally {
    await server.stop();
  }
});

test("a shapefile's attribute edit (its .dbf alone) is reloaded", async () => {
  const dir = tempData({ catalog: { resources: [{ id: 1, cls: 'vector_layer', display_name: 'Towns', source: 'towns_utm33.shp' }] } });
  for (const ext of ['shp', 'shx', 'dbf', 'prj', 'cpg']) copyFileSync(join(FIXTURES, `towns_utm33.${ext}`), join(dir, `towns_utm33.${ext}`));
  const { server } = await watching(dir);
  try {
    const first = (await server.json('/api/resource/1/feature/1')).body.fields;
    const name = Object.values(first).find((v): v is string => typeof v === 'string' && v.length >= 4)!;
    assert.ok(name, 'the first town has a text attribute');
    // dBase records are fixed-width: the same number of bytes, another value.
    const dbf = join(dir, 'towns_utm33.dbf');
    const bytes = readFileSync(dbf);
    const at = bytes.indexOf(Buffer.from(name, 'latin1'));
    assert.ok(at > 0);
    bytes.write('Z'.repeat(name.length), at, 'latin1');
    writeFileSync(dbf, bytes);
    await until(async () => Object.values((await server.json('/api/resource/1/feature/1')).body.fields).includes('Z'.repeat(name.length)), 5000);
    assert.ok(Object.values((await server.json('/api/resource/1/feature/1')).body.fields).includes('Z'.repeat(name.length)));
  } finally {
    await server.stop();
  }
});

test('the check interval is 0 (never) or from 0.01 s to a day', () => {
  assert.equal(readConfig([], { MERIDIAN_SOURCE_CHECK_INTERVAL: '0.5' }).sourceCheckInterval, 0.5);
  assert.equal(readConfig([], {}).sourceCheckInterval, 2);
  assert.equal(readConfig([], { MERIDIAN_SOURCE_CHECK_INTERVAL: '0' }).sourceCheckInterval, 0);
  // Past 2^31 ms Node's timers fire every millisecond instead.
  for (const bad of ['-1', 'soon', '0.001', '3000000']) {
    assert.throws(() => readConfig([], { MERIDIAN_SOURCE_CHECK_INTERVAL: bad }), /MERIDIAN_SOURCE_CHECK_INTERVAL must be 0 \(never\) or from 0.01 to 86400 seconds/);
  }
});

test("a reloaded layer's old geometry leaves the workers that searched it", async () => {
  const dir = tempData({ catalog: { resources: [{ id: 1, cls: 'vector_layer', display_name: 'Squares', source: 'squares.geojson' }] } });
  const source = join(dir, 'squares.geojson');
  writeFileSync(source, collection(square(1, 'small', 5)));
  const { server } = await watching(dir);
  const held = () => server.services.pool.stats().workers.reduce((n, w) => n + w.layers, 0);
  try {
    // A shape of 2,000+ vertices is searched in a worker, which keeps the layer's geometry.
    const ring = Array.from({ length: 2_400 }, (_, k) => `${10 * Math.cos((2 * Math.PI * k) / 2_400)} ${10 * Math.sin((2 * Math.PI * k) / 2_400)}`);
    const identify = await server.json('/api/feature_layer/identify', {
      method: 'POST', body: JSON.stringify({ srs: 4326, geom: `POLYGON((${[...ring, ring[0]].join(',')}))`, layers: [1] }),
    });
    assert.equal(identify.body[1].featureCount, 1, JSON.stringify(identify.body));
    assert.equal(held(), 1);
    writeFileSync(source, collection(square(2, 'other', 5)));
    // Watched through the feature API: a tile asked before the new data is prepared would go to a worker.
    await until(async () => (await server.get('/api/resource/1/feature/2')).status === 200, 5000);
    assert.equal((await server.get('/api/resource/1/feature/2')).status, 200);
    assert.equal(held(), 0);
  } finally {
    await server.stop();
  }
});

test('a GeoPackage edited in WAL mode, as QGIS edits one, is reloaded (the edit stays in its -wal file)', async () => {
  const dir = tempData({ catalog: { resources: [{ id: 1, cls: 'vector_layer', display_name: 'Parcels', source: 'parcels.gpkg', layer: 'parcels' }] } });
  const file = join(dir, 'parcels.gpkg');
  copyFileSync(join(FIXTURES, 'parcels_3857.gpkg'), file);
  const editor = new Database(file);
  // The GeoPackage's R-tree triggers call spatial functions an editor provides.
  for (const f of ['ST_IsEmpty', 'ST_MinX', 'ST_MaxX', 'ST_MinY', 'ST_MaxY']) editor.function(f, { varargs: true }, () => 0);
  editor.pragma('journal_mode = WAL');
  editor.pragma('wal_autocheckpoint = 0');
  const { server, logged } = await watching(dir);
  try {
    const owner = async () => (await server.json('/api/resource/1/feature/?limit=1')).body[0].fields.owner;
    assert.notEqual(await owner(), 'EDITED');
    // Reading it leaves an empty -wal beside it, which is no change.
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(logged.filter((l) => l.msg === 'layer source changed; reloading'), []);
    const { size, mtimeMs } = statSync(file);
    editor.prepare("update parcels set owner = 'EDITED'").run();
    await until(async () => (await owner()) === 'EDITED', 5000);
    assert.equal(await owner(), 'EDITED');
    assert.deepEqual([statSync(file).size, statSync(file).mtimeMs], [size, mtimeMs], 'the .gpkg itself did not change');
  } finally {
    editor.close();
    await server.stop();
  }
});

test("a layer's data is stamped with its files as they were before it was read", async () => {
  const dir = tempData({ catalog: { resources: [{ id: 1, cls: 'vector_layer', display_name: 'Squares', source: 'squares.geojson' }] } });
  try {
    const source = join(dir, 'squares.geojson');
    writeFileSync(source, collection(square(1, 'small', 5)));
    const log = pino({ level: 'silent' });
    const catalog = Catalog.read(dir, dir);
    const before = catalog.currentStamp(1);
    const loaded = catalog.loadLayers(log, new DatabaseConnections({}, { max: 1, connectTimeoutMs: 100, statementTimeoutMs: 0 }, log));
    // Changed while the load runs (the reader opens the file after this): whatever it read, the
    // stamp names the files as they were when it began, so the change is seen as one (the watcher
    // reloads; the tile store and Redis do not take the old data for the new files).
    writeFileSync(source, collection(square(1, 'small', 5), square(2, 'more', 5)));
    await loaded;
    assert.equal(catalog.layerState(1)?.status, 'ready');
    assert.equal(catalog.loadedStamp(1), before);
    assert.equal(catalog.lastReadStamp(1), before, 'the watcher sees the change');
    assert.notEqual(catalog.currentStamp(1), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
