// MVT endpoints, decoded with @mapbox/vector-tile and checked against the source coordinates.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { Feature, FeatureCollection, Geometry, MultiPolygon, Polygon } from 'geojson';
import pino from 'pino';
import { ApiError } from '../src/http/errors.js';
import { loadLayer } from '../src/store/open.js';
import { decode, features, layerValues, ringArea, segmentDistance, toTile, valueWireTypes } from './helpers/mvt.js';
import { SAMPLE_DATA, startServer, tempData, type TestServer } from './helpers/server.js';

const collection = <G extends Geometry>(fs: Feature<G>[]): FeatureCollection<G> => ({ type: 'FeatureCollection', features: fs });
const square = (x0: number, y0: number, x1: number, y1: number) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];

const POLYGONS = collection([
  { type: 'Feature', id: 11, properties: { name: 'holed', count: 5, delta: -3, ratio: 0.25, note: null },
    geometry: { type: 'Polygon', coordinates: [square(10, 10, 20, 20), square(13, 13, 17, 17).reverse()] } },
  { type: 'Feature', id: 12, properties: { name: 'pair', count: 7, delta: 2, ratio: 1.5, note: 'two parts' },
    geometry: { type: 'MultiPolygon', coordinates: [[square(30, 0.5, 32, 2)], [square(34, 0.5, 36, 2)]] } },
  // Crosses the antimeridian as one ring running past 180°.
  { type: 'Feature', id: 13, properties: { name: 'seam', count: 0, delta: -1, ratio: 0, note: null },
    geometry: { type: 'Polygon', coordinates: [square(179, -10, 181, -5)] } },
]);
const LINES = collection([
  { type: 'Feature', id: 21, properties: { kind: 'across' }, geometry: { type: 'LineString', coordinates: [[-10, 5], [10, 5]] } },
  { type: 'Feature', id: 22, properties: { kind: 'multi' },
    geometry: { type: 'MultiLineString', coordinates: [[[40, 40], [50, 45]], [[60, 40], [70, 45]]] } },
]);
const POINTS = collection([
  { type: 'Feature', id: 31, properties: { label: 'edge' }, geometry: { type: 'Point', coordinates: [0.1, 0.1] } },
  { type: 'Feature', id: 32, properties: { label: 'multi' }, geometry: { type: 'MultiPoint', coordinates: [[100, 30], [110, 35]] } },
  { type: 'Feature', id: 33, properties: { label: 'east' }, geometry: { type: 'Point', coordinates: [179.5, 1] } },
]);
// Texts beyond ASCII, one text in two fields, nulls in text and number columns (see store/columns.ts).
const CITY = 'Zürich — 東京 ✓';
const LABELS = collection([
  { type: 'Feature', id: 41, properties: { name: CITY, alias: CITY, rank: 1 }, geometry: { type: 'Point', coordinates: [5, 5] } },
  { type: 'Feature', id: 42, properties: { name: 'Ålesund', alias: null, rank: null }, geometry: { type: 'Point', coordinates: [6, 6] } },
]);

// Single points in scrambled order, so tiling them from a copy in spatial order (tiling/point-order.ts) is seen.
const SCATTERED = collection(Array.from({ length: 3000 }, (_, i) => {
  const k = (i * 7919) % 3000;
  return { type: 'Feature' as const, id: 1000 + k, properties: { n: k, tag: `t${k % 7}` },
    geometry: { type: 'Point' as const, coordinates: [((k * 37) % 2000) / 100, ((k * 53) % 2000) / 100] } };
}));

let server: TestServer;
let dataDir: string;

before(async () => {
  dataDir = tempData({
    copySample: true,
    catalog: { resources: [
      { id: 1, cls: 'resource_group', parent: 0, display_name: 'Test' },
      { id: 2, cls: 'vector_layer', parent: 1, display_name: 'Countries', source: 'countries110.geojson' },
      { id: 3, cls: 'vector_layer', parent: 1, display_name: 'Polygons', source: 'polygons.geojson' },
      { id: 4, cls: 'vector_layer', parent: 1, display_name: 'Lines', source: 'lines.geojson' },
      { id: 5, cls: 'vector_layer', parent: 1, display_name: 'Points', source: 'points.geojson' },
      { id: 6, cls: 'vector_layer', parent: 1, display_name: 'Labels', source: 'labels.geojson' },
      { id: 7, cls: 'vector_layer', parent: 1, display_name: 'Scattered', source: 'scattered.geojson' },
    ] },
  });
  writeFileSync(join(dataDir, 'polygons.geojson'), JSON.stringify(POLYGONS));
  writeFileSync(join(dataDir, 'lines.geojson'), JSON.stringify(LINES));
  writeFileSync(join(dataDir, 'points.geojson'), JSON.stringify(POINTS));
  writeFileSync(join(dataDir, 'labels.geojson'), JSON.stringify(LABELS));
  writeFileSync(join(dataDir, 'scattered.geojson'), JSON.stringify(SCATTERED));
  server = await startServer({ dataDir, env: { MERIDIAN_TILE_CACHE_CONTROL: 'public, max-age=60', MERIDIAN_WORKERS: '2' } });
});
after(() => server.stop());

async function tile(path: string, headers: Record<string, string> = { 'accept-encoding': 'identity' }) {
  const res = await server.get(path, { headers });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { res, bytes, vt: res.status === 200 ? decode(bytes) : null };
}

test('a polygon keeps its hole, exterior rings are positive and interior negative, ids are fids', async () => {
  const { res, vt } = await tile('/api/resource/3/1/1/0.mvt');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/vnd.mapbox-vector-tile');
  const layer = vt!.layers['ngw:3'];
  assert.equal(layer.version, 2);
  assert.equal(layer.extent, 4096);
  const holed = features(vt!, 'ngw:3').find((f) => f.id === 11)!;
  assert.equal(holed.type, 3);
  const rings = holed.loadGeometry();
  assert.equal(rings.length, 2);
  assert.ok(ringArea(rings[0]) > 0 && ringArea(rings[1]) < 0, 'winding per MVT 2.1');
  const source = POLYGONS.features[0].geometry as Polygon;
  source.coordinates.forEach((ring, r) => {
    const got = rings[r];
    // Every source corner lands within one tile unit of an encoded vertex, and vice versa.
    for (const [lon, lat] of ring) {
      const [tx, ty] = toTile(lon, lat, 1, 1, 0);
      assert.ok(got.some((p) => Math.hypot(p.x - tx, p.y - ty) <= 1), `corner ${lon},${lat}`);
    }
    assert.equal(got.length, ring.length, 'closed by ClosePath: the decoded ring repeats its first point');
  });
  const pair = features(vt!, 'ngw:3').find((f) => f.id === 12)!;
  const gj = pair.toGeoJSON(1, 1, 0).geometry as MultiPolygon;
  assert.equal(gj.type, 'MultiPolygon');
  assert.equal(gj.coordinates.length, 2);
});

test('attributes are typed on the wire; nulls are omitted', async () => {
  const { bytes, vt } = await tile('/api/resource/3/1/1/0.mvt');
  const holed = features(vt!, 'ngw:3').find((f) => f.id === 11)!;
  assert.deepEqual({ ...holed.properties }, { name: 'holed', count: 5, delta: -3, ratio: 0.25 });
  const types = valueWireTypes(bytes, 'ngw:3');
  assert.equal(types.get('holed'), 1, 'string');
  assert.equal(types.get(0.25), 3, 'double');
  assert.equal(types.get(1.5), 3, 'double');
  assert.equal(types.get(5), 5, 'uint');
  assert.equal(types.get(-3), 6, 'sint');
});

test('texts survive byte for byte; a text in two fields is one value of the tile; nulls are omitted', async () => {
  const { bytes, vt } = await tile('/api/resource/6/0/0/0.mvt?padding=0.1'); // cut anew, not the pre-cut z0
  const got = Object.fromEntries(features(vt!, 'ngw:6').map((f) => [f.id, { ...f.properties }]));
  assert.deepEqual(got, { 41: { name: CITY, alias: CITY, rank: 1 }, 42: { name: 'Ålesund' } });
  assert.deepEqual(layerValues(bytes, 'ngw:6').filter(([v]) => v === CITY), [[CITY, 1]], 'one string Value for both fields');
  for (const f of LABELS.features) {
    const { body } = await server.json(`/api/resource/6/feature/${f.id}`);
    assert.deepEqual(body.fields, f.properties, `feature ${f.id} as loaded`);
  }
});

test('real polygons: every vertex within one tile unit of the source, and every source vertex kept', async () => {
  const source = JSON.parse(readFileSync(join(SAMPLE_DATA, 'countries110.geojson'), 'utf8')) as FeatureCollection;
  const [z, x, y] = [2, 2, 1];
  const { vt } = await tile(`/api/resource/2/${z}/${x}/${y}.mvt?simplification=0`);
  const got = features(vt!, 'ngw:2');
  assert.ok(got.length > 10);
  const border = (v: number) => Math.abs(v + 204.8) <= 1 || Math.abs(v - 4300.8) <= 1;
  for (const f of got) {
    const g = source.features[(f.id as number) - 1].geometry as Polygon | MultiPolygon;
    const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    const rings = polys.flat().map((ring) => ring.map(([lon, lat]) => toTile(lon, lat, z, x, y)));
    const segments = rings.flatMap((ring) => ring.slice(1).map((b, i) => [ring[i], b]));
    const decoded = f.loadGeometry();
    for (const ring of decoded) {
      assert.ok(ring.length >= 4, 'no degenerate rings');
      for (const p of ring) {
        if (border(p.x) || border(p.y)) continue; // made by clipping, on the buffer's edge
        const d = Math.min(...segments.map(([a, b]) => segmentDistance(p.x, p.y, a, b)));
        assert.ok(d <= 1, `feature ${f.id}: vertex ${p.x},${p.y} is ${d} from the source`);
      }
    }
    const out = decoded.flatMap((ring) => ring.slice(1).map((b, i) => [[ring[i].x, ring[i].y], [b.x, b.y]]));
    for (const [tx, ty] of rings.flat()) {
      if (tx < 0 || tx > 4096 || ty < 0 || ty > 4096) continue;
      const d = Math.min(...out.map(([a, b]) => segmentDistance(tx, ty, a, b)));
      assert.ok(d <= 1, `feature ${f.id}: source vertex ${tx},${ty} lost (${d})`);
    }
  }
});

test('features across a tile edge are in both tiles, within the buffer', async () => {
  const left = await tile('/api/component/feature_layer/mvt?resource=4,5&z=1&x=0&y=0');
  const right = await tile('/api/component/feature_layer/mvt?resource=4,5&z=1&x=1&y=0');
  for (const t of [left, right]) {
    assert.deepEqual(Object.keys(t.vt!.layers), ['ngw:4', 'ngw:5']);
    const line = features(t.vt!, 'ngw:4').find((f) => f.id === 21)!;
    assert.equal(line.type, 2);
    const pts = line.loadGeometry()[0];
    assert.ok(pts.every((p) => p.x >= -205 && p.x <= 4301), 'clipped to the buffer');
    assert.ok(features(t.vt!, 'ngw:5').some((f) => f.id === 31), 'point near the edge');
  }
  // The line ends at lon ±10 (inside each tile), and crosses the shared edge into the buffer.
  const [lx] = toTile(-10, 5, 1, 0, 0);
  const lpts = features(left.vt!, 'ngw:4').find((f) => f.id === 21)!.loadGeometry()[0];
  assert.ok(Math.abs(lpts[0].x - lx) <= 1);
  assert.equal(lpts[lpts.length - 1].x, Math.round(4096 * 1.05));
  const multi = features(right.vt!, 'ngw:4').find((f) => f.id === 22)!;
  assert.equal(multi.loadGeometry().length, 2);
  const mp = features(right.vt!, 'ngw:5').find((f) => f.id === 32)!;
  assert.equal(mp.loadGeometry().length, 2);
});

test('features crossing the antimeridian appear on both sides of the seam', async () => {
  const east = await tile('/api/resource/3/1/1/1.mvt');
  const west = await tile('/api/resource/3/1/0/1.mvt');
  for (const [t, side] of [[east, 'east'], [west, 'west']] as const) {
    const seam = features(t.vt!, 'ngw:3').find((f) => f.id === 13);
    assert.ok(seam, `seam polygon in the ${side} tile`);
    const xs = seam.loadGeometry()[0].map((p) => p.x);
    // East tile: from lon 179 (x ≈ 4073) to its buffer edge; west tile: from its buffer edge to lon -179.
    if (side === 'east') assert.ok(Math.abs(Math.min(...xs) - toTile(179, 0, 1, 1, 0)[0]) <= 1 && Math.max(...xs) > 4096);
    else assert.ok(Math.min(...xs) < 0 && Math.abs(Math.max(...xs) - toTile(-179, 0, 1, 0, 0)[0]) <= 1);
  }
  const west0 = await tile('/api/resource/5/1/0/0.mvt');
  const east33 = features(west0.vt!, 'ngw:5').find((f) => f.id === 33)!;
  assert.ok(east33, 'a point just east of 180° is in the west tile buffer');
  assert.ok(Math.abs(east33.loadGeometry()[0][0].x - toTile(179.5 - 360, 1, 1, 0, 0)[0]) <= 1);
});

test('an empty tile is 204 with no body, and is cached', async () => {
  const first = await tile('/api/resource/3/6/0/0.mvt');
  assert.equal(first.res.status, 204);
  assert.equal(first.bytes.length, 0);
  const again = await tile('/api/resource/3/6/0/0.mvt');
  assert.equal(again.res.status, 204);
  assert.equal(again.res.headers.get('x-tile-cache'), 'hit');
});

test('strong ETag, 304 on If-None-Match, Cache-Control from the configuration', async () => {
  const { res } = await tile('/api/resource/2/0/0/0.mvt');
  const etag = res.headers.get('etag')!;
  assert.match(etag, /^"[^"]+"$/);
  assert.equal(res.headers.get('cache-control'), 'public, max-age=60');
  const again = await server.get('/api/resource/2/0/0/0.mvt', { headers: { 'if-none-match': etag, 'accept-encoding': 'identity' } });
  assert.equal(again.status, 304);
  assert.equal((await again.arrayBuffer()).byteLength, 0);
});

test('gzip when the client accepts it, with the same tile inside', async () => {
  const plain = await tile('/api/resource/2/0/0/0.mvt');
  const res = await server.get('/api/resource/2/0/0/0.mvt', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  assert.notEqual(res.headers.get('etag'), plain.res.headers.get('etag'));
  assert.ok(Number(res.headers.get('content-length')) < plain.bytes.length);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), plain.bytes); // fetch inflates it
});

test('both URL forms give the same bytes; several resources give layers in the asked order', async () => {
  const single = await tile('/api/resource/2/1/0/0.mvt');
  const component = await tile('/api/component/feature_layer/mvt?resource=2&z=1&x=0&y=0');
  assert.deepEqual(single.bytes, component.bytes);
  const many = await tile('/api/component/feature_layer/mvt?resource=5,2,4&z=0&x=0&y=0');
  assert.deepEqual(Object.keys(many.vt!.layers), ['ngw:5', 'ngw:2', 'ngw:4']);
});

test('extent and padding change the tile as asked', async () => {
  const { vt } = await tile('/api/resource/3/1/1/0.mvt?extent=512&padding=0');
  const holed = features(vt!, 'ngw:3').find((f) => f.id === 11)!;
  assert.equal(vt!.layers['ngw:3'].extent, 512);
  const [tx, ty] = toTile(10, 20, 1, 1, 0, 512);
  assert.ok(holed.loadGeometry()[0].some((p) => Math.hypot(p.x - tx, p.y - ty) <= 1));
  const line = features((await tile('/api/resource/4/1/0/0.mvt?padding=0')).vt!, 'ngw:4').find((f) => f.id === 21)!;
  assert.equal(Math.max(...line.loadGeometry()[0].map((p) => p.x)), 4096);
});

test('bad parameters are 400 naming the parameter; unknown 404; not a layer 422', async () => {
  const cases: [string, number, string][] = [
    ['/api/resource/2/25/0/0.mvt', 400, 'z'],
    ['/api/resource/2/1/2/0.mvt', 400, 'x'],
    ['/api/resource/2/1/0/-1.mvt', 400, 'y'],
    ['/api/resource/abc/0/0/0.mvt', 400, 'id'],
    ['/api/component/feature_layer/mvt?z=0&x=0&y=0', 400, 'resource'],
    ['/api/component/feature_layer/mvt?resource=2,2&z=0&x=0&y=0', 400, 'resource'],
    // The same resource written two ways: a tile holding layer ngw:2 twice was answered (also as a guest, before Koa).
    ['/api/component/feature_layer/mvt?resource=2,02&z=0&x=0&y=0', 400, 'resource'],
    ['/api/component/feature_layer/mvt?resource=2&z=0&x=0', 400, 'y'],
    ['/api/component/feature_layer/mvt?resource=2&z=0&x=0&y=0&extent=abc', 400, 'extent'],
    ['/api/component/feature_layer/mvt?resource=2&z=0&x=0&y=0&padding=0.9', 400, 'padding'],
    ['/api/component/feature_layer/mvt?resource=2&z=0&x=0&y=0&simplification=-1', 400, 'simplification'],
    ['/api/component/feature_layer/mvt?resource=2,999&z=0&x=0&y=0', 404, ''],
    ['/api/resource/1/0/0/0.mvt', 422, ''],
  ];
  for (const [path, status, param] of cases) {
    const { status: got, body } = await server.json(path);
    assert.equal(got, status, path);
    if (param) assert.match(body.message, new RegExp(`"${param}"`), path);
    else assert.ok(body.code, path);
  }
});

test('permissions are checked for every resource of a tile', async () => {
  const authorize = server.services.authorize;
  server.services.authorize = (_caller, entry) => {
    if (entry.id === 4) throw new ApiError(403, 'FORBIDDEN', 'No data.read on resource 4.');
  };
  try {
    assert.equal((await server.json('/api/component/feature_layer/mvt?resource=2,4&z=0&x=0&y=0')).status, 403);
    assert.equal((await server.json('/api/resource/4/0/0/0.mvt')).status, 403);
    assert.equal((await tile('/api/resource/2/0/0/0.mvt')).res.status, 200);
  } finally {
    server.services.authorize = authorize;
  }
});

test('a layer of single points, tiled in spatial order: each point in its tiles with its id, attributes and position; exports keep the source order', async () => {
  // z4: thousands of points (cut in a worker), z6: a few hundred (on the main thread), z8 with another padding.
  for (const [z, x, y, padding] of [[4, 8, 7, 0.05], [6, 32, 31, 0.05], [8, 130, 124, 0.2]]) {
    const { vt } = await tile(`/api/resource/7/${z}/${x}/${y}.mvt${padding === 0.05 ? '' : `?padding=${padding}`}`);
    const min = -padding * 4096, max = 4096 * (1 + padding);
    const expected = new Map(SCATTERED.features.map((f) => [f.id, f] as const).filter(([, f]) => {
      const [tx, ty] = toTile(...(f.geometry.coordinates as [number, number]), z, x, y);
      // Points within a unit of the buffer's edge may round either way.
      return tx > min + 1 && tx < max - 1 && ty > min + 1 && ty < max - 1;
    }));
    const got = features(vt!, 'ngw:7');
    assert.ok(expected.size > 10, `z${z}: points to check`);
    for (const [id, f] of expected) {
      const served = got.find((g) => g.id === id);
      assert.ok(served, `z${z}: point ${id} in its tile`);
      assert.deepEqual({ ...served.properties }, f.properties, `z${z}: attributes of ${id}`);
      const [[p]] = served.loadGeometry();
      const [tx, ty] = toTile(...(f.geometry.coordinates as [number, number]), z, x, y);
      assert.ok(Math.abs(p.x - tx) <= 1 && Math.abs(p.y - ty) <= 1, `z${z}: ${id} within a tile unit`);
    }
    const ids = new Set(SCATTERED.features.map((f) => f.id));
    for (const g of got) {
      const [[p]] = g.loadGeometry();
      assert.ok(ids.has(g.id) && p.x >= min - 1 && p.x <= max + 1 && p.y >= min - 1 && p.y <= max + 1, `z${z}: ${g.id} is a source point in the buffer`);
    }
  }
  const exported = await (await server.get('/api/resource/7/geojson')).json() as FeatureCollection;
  assert.deepEqual(exported.features.map((f) => f.id), SCATTERED.features.map((f) => f.id), 'export in the source order');
});

test('when a layer\'s data changes its cached tiles are dropped', async () => {
  const path = '/api/resource/5/0/0/0.mvt';
  await tile(path);
  assert.equal((await tile(path)).res.headers.get('x-tile-cache'), 'hit');
  const moved = collection([{ type: 'Feature', id: 77, properties: { label: 'new' }, geometry: { type: 'Point', coordinates: [5, 5] } }]);
  const file = join(dataDir, 'points2.geojson');
  writeFileSync(file, JSON.stringify(moved));
  server.services.catalog.setLayer(5, await loadLayer(file, {}, 'points2', pino({ level: 'silent' })));
  const after = await tile(path);
  assert.equal(after.res.headers.get('x-tile-cache'), 'miss');
  assert.deepEqual(features(after.vt!, 'ngw:5').map((f) => f.id), [77]);
  const stats = server.services.tileCache.stats();
  assert.ok(stats.hits > 0 && stats.misses > 0 && stats.invalidations > 0 && stats.bytes > 0);
});

test('GDAL\'s MVT driver (ogrinfo) reads a served tile', async (t) => {
  const ogrinfo = '/usr/bin/ogrinfo';
  if (!existsSync(ogrinfo)) { t.skip('ogrinfo is not installed (apt-get install gdal-bin)'); return; }
  const { bytes, vt } = await tile('/api/component/feature_layer/mvt?resource=3,4,5&z=1&x=1&y=0');
  const dir = mkdtempSync(join(tmpdir(), 'meridian-ogr-'));
  const file = join(dir, 'tile.mvt');
  writeFileSync(file, bytes);
  try {
    const { stdout, stderr } = await promisify(execFile)(ogrinfo, ['-ro', '-al', '-oo', 'CLIP=NO', '-oo', 'Z=1', '-oo', 'X=1', '-oo', 'Y=0', file]);
    assert.doesNotMatch(stderr, /ERROR/);
    for (const name of ['ngw:3', 'ngw:4', 'ngw:5']) {
      const section = stdout.split('Layer name: ').find((s) => s.startsWith(`${name}\n`))!;
      assert.ok(section, `layer ${name} listed`);
      assert.equal(Number(/Feature Count: (\d+)/.exec(section)![1]), vt!.layers[name].length);
      const ids = [...section.matchAll(/mvt_id \(Integer64\) = (\d+)/g)].map((m) => Number(m[1]));
      assert.deepEqual(ids, features(vt!, name).map((f) => f.id));
    }
    assert.match(stdout, /name \(String\) = holed/);
    assert.match(stdout, /ratio \(Real\) = 0\.25/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
