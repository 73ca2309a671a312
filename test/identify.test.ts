// Identify by shape over HTTP, against small layers whose answers can be checked by hand.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { booleanIntersects, booleanPointInPolygon } from '@turf/turf';
import type { Feature, Geometry, Polygon } from 'geojson';
import pino from 'pino';
import { packShape, unpackShape } from '../src/identify/packed-shape.js';
import type { Shape } from '../src/identify/shape.js';
import type { RunOptions } from '../src/pool/pool.js';
import { watchLoop } from './helpers/event-loop.js';
import { startServer, tempData, type TestServer } from './helpers/server.js';
import { wavyRing } from './helpers/shapes.js';
import { until } from './helpers/wait.js';

const feature = (id: number, geometry: Geometry, properties: Record<string, unknown> = {}): Feature =>
  ({ type: 'Feature', id, geometry, properties });
const box = (x0: number, y0: number, x1: number, y1: number): number[][] => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
const wktRing = (ring: number[][]) => `(${ring.map((p) => p.join(' ')).join(',')})`;
const boxWkt = (x0: number, y0: number, x1: number, y1: number) => `POLYGON(${wktRing(box(x0, y0, x1, y1))})`;

/** Web Mercator, written out so the test does not lean on the server's proj4. */
const R = 6378137;
const merc = (lon: number, lat: number) => [R * (lon * Math.PI) / 180, R * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360))];

/** A reproducible scatter of points for the oracle test. */
function scatter(n: number, seed: number): number[][] {
  let s = seed;
  const rnd = () => ((s = (s * 1664525 + 1013904223) % 2 ** 32) / 2 ** 32);
  return Array.from({ length: n }, () => [Math.round(rnd() * 40_000) / 1000 - 20, Math.round(rnd() * 40_000) / 1000 - 20]);
}

/** Small triangles, two-part multipolygons and zigzag lines scattered over the star's surroundings. */
function shapes(n: number): Geometry[] {
  return scatter(n, 11).map(([x, y], k): Geometry => {
    const s = 0.4 + (k % 5) * 0.3;
    const tri = [[x, y], [x + s, y], [x, y + s], [x, y]];
    if (k % 3 === 0) return { type: 'Polygon', coordinates: [tri] };
    if (k % 3 === 1) return { type: 'MultiPolygon', coordinates: [[tri], [tri.map(([a, b]) => [a + 3, b - 3])]] };
    return { type: 'LineString', coordinates: [[x, y], [x + s, y + s], [x + 2 * s, y], [x + 3 * s, y + s]] };
  });
}

/** A star with a hole: concave, many boundary cells, and cells inside the hole. */
function starWithHole(): Polygon {
  const outer: number[][] = [];
  for (let k = 0; k < 40; k++) {
    const a = (k / 40) * 2 * Math.PI, r = k % 2 ? 6 : 15;
    outer.push([r * Math.cos(a), r * Math.sin(a)]);
  }
  outer.push(outer[0]);
  return { type: 'Polygon', coordinates: [outer, box(-2, -2, 2, 2).reverse()] };
}

const POINTS = [
  feature(1, { type: 'Point', coordinates: [5, 2] }, { name: 'on-edge', pop: 10, ratio: 0.5, since: '2020-05-01' }),
  feature(2, { type: 'Point', coordinates: [5.001, 2] }, { name: 'just-outside', pop: 20, ratio: 1.25, since: null }),
  feature(3, { type: 'Point', coordinates: [0, 0] }, { name: 'corner', pop: 30, ratio: 2, since: '2021-01-31' }),
  feature(4, { type: 'Point', coordinates: [2, 2] }, { name: null, pop: 40, ratio: 3.5, since: null }),
  feature(5, { type: 'Point', coordinates: [25, 25] }, { name: 'far', pop: 50, ratio: 4, since: null }),
];
const HOLED = [
  feature(1, { type: 'Polygon', coordinates: [box(0, 0, 10, 10), box(2, 2, 8, 8).reverse()] }, { kind: 'ring' }),
  feature(2, { type: 'MultiPolygon', coordinates: [[box(20, 0, 22, 2)], [box(30, 0, 32, 2)]] }, { kind: 'pair' }),
];
const GRID = Array.from({ length: 10 }, (_, k) => feature(k + 1, { type: 'Point', coordinates: [100 + k, 10] }, { n: k + 1 }));
const SCATTER = scatter(3000, 7).map((c, k) => feature(k + 1, { type: 'Point', coordinates: c }));
const SHAPES = shapes(600).map((g, k) => feature(k + 1, g));
const AREAS = SHAPES.filter((f) => f.geometry.type !== 'LineString');
/** Polygons of 400 vertices (more than LocalShapes keeps whole), small ones and one with a hole, over the same surroundings. */
const BIG_AREAS = scatter(24, 3).map(([x, y], k) => feature(k + 1, { type: 'Polygon', coordinates: k === 0
  ? [wavyRing(x, y, 3, 2, 399), wavyRing(x, y, 1.5, 1, 399).reverse()] : [wavyRing(x, y, 0.2 + (k % 4) * 0.4, 0.15 + (k % 4) * 0.3, 399)] }));
const LINES = SHAPES.filter((f) => f.geometry.type === 'LineString');

const rule = (action: string, scope: string, permission: string, propagate = true) =>
  ({ action, principal: { keyname: 'everyone' }, scope, permission, propagate });

const CATALOG = {
  permissions: [rule('allow', 'resource', 'read'), rule('allow', 'data', 'read')],
  resources: [
    { id: 1, cls: 'resource_group', parent: 0, display_name: 'Test group' },
    { id: 2, cls: 'vector_layer', parent: 1, display_name: 'Points', source: 'points.geojson', label_field: 'name' },
    { id: 3, cls: 'vector_layer', parent: 1, display_name: 'Holed', source: 'holed.geojson' },
    { id: 4, cls: 'vector_layer', parent: 1, display_name: 'Grid', source: 'grid.geojson', label_field: 'n' },
    { id: 5, cls: 'vector_layer', parent: 1, display_name: 'Scatter', source: 'scatter.geojson' },
    { id: 6, cls: 'vector_layer', parent: 1, display_name: 'Areas', source: 'areas.geojson' },
    { id: 7, cls: 'vector_layer', parent: 1, display_name: 'Lines', source: 'lines.geojson' },
    { id: 11, cls: 'vector_layer', parent: 1, display_name: 'Big areas', source: 'big-areas.geojson' },
    // Nobody may read this layer's data; its group's name is hidden from everyone, the layer is not.
    { id: 8, cls: 'resource_group', parent: 0, display_name: 'Hidden group', permissions: [rule('deny', 'resource', 'read', false)] },
    { id: 9, cls: 'vector_layer', parent: 8, display_name: 'Secret points', source: 'points.geojson', permissions: [rule('deny', 'data', 'read')] },
    { id: 10, cls: 'vector_layer', parent: 8, display_name: 'Open points', source: 'points.geojson', label_field: 'name' },
  ],
};

describe('identify', () => {
  let s: TestServer;
  before(async () => {
    const dir = tempData({ catalog: CATALOG });
    const write = (name: string, features: Feature[]) => writeFileSync(join(dir, name), JSON.stringify({ type: 'FeatureCollection', features }));
    write('points.geojson', POINTS);
    write('holed.geojson', HOLED);
    write('grid.geojson', GRID);
    write('scatter.geojson', SCATTER);
    write('areas.geojson', AREAS);
    write('lines.geojson', LINES);
    write('big-areas.geojson', BIG_AREAS);
    s = await startServer({ dataDir: dir });
  });
  after(() => s.stop());

  const identify = (body: unknown, method = 'POST', path = '/api/feature_layer/identify') =>
    s.json(path, { method, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const ids = (body: any, layer: number) => body[layer].features.map((f: any) => f.id);
  /** `work`'s result, and the identify tasks the pool was asked to run meanwhile (other areas, e.g. tiling, use it too). */
  const tasksAsked = async <T>(work: () => Promise<T>) => {
    const pool = s.services.pool, run = pool.run;
    const asked: string[] = [];
    pool.run = <R>(task: string, ...rest: [unknown, RunOptions?]) => { asked.push(task); return run.call(pool, task, ...rest) as Promise<R>; };
    try {
      return { result: await work(), asked: asked.filter((t) => t.startsWith('identify.')) };
    } finally {
      pool.run = run;
    }
  };

  it('answers in the NGW shape with labels, parents and typed fields', async () => {
    const { status, body } = await identify({ srs: 4326, geom: boxWkt(-1, -1, 5, 5), layers: [2, 3] });
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body).sort(), ['2', '3', 'featureCount']);
    assert.deepEqual(ids(body, 2), [1, 3, 4]);
    assert.deepEqual(body[2].features[0], {
      id: 1, layerId: 2, label: 'on-edge', parent: 'Test group',
      fields: { name: 'on-edge', pop: 10, ratio: 0.5, since: '2020-05-01' },
    });
    // A null label field falls back to "#fid", as a layer without a label field does.
    assert.equal(body[2].features[2].label, '#4');
    assert.equal(body[2].features[2].fields.name, null);
    assert.deepEqual(body[3].features.map((f: any) => [f.id, f.layerId, f.label, f.fields]), [[1, 3, '#1', { kind: 'ring' }]]);
    assert.equal(body[2].featureCount, 3);
    assert.equal(body[2].cut, false);
    assert.equal(body.featureCount, 4);
  });

  it('counts a point on the polygon edge or vertex, not one a hair outside', async () => {
    const { body } = await identify({ srs: 4326, geom: boxWkt(0, 0, 5, 5), layers: [2] });
    assert.deepEqual(ids(body, 2), [1, 3, 4]);
  });

  it('does not hit a holed polygon from inside its hole, but does when touching the hole ring', async () => {
    const inside = await identify({ srs: 4326, geom: boxWkt(3, 3, 7, 7), layers: [3] });
    assert.deepEqual(ids(inside.body, 3), []);
    assert.equal(inside.body.featureCount, 0);
    const touching = await identify({ srs: 4326, geom: boxWkt(3, 3, 8, 7), layers: [3] });
    assert.deepEqual(ids(touching.body, 3), [1]);
  });

  it('takes rings that touch at a point, as OGC simple features allow (parts at a corner, a hole at the shell)', async () => {
    // Two squares meeting at (5 2), the on-edge point: each part hits what it holds.
    const corner = `MULTIPOLYGON((${wktRing(box(3, 0, 5, 2))}),(${wktRing(box(5, 2, 7, 4))}))`;
    const parts = await identify({ srs: 4326, geom: corner, layers: [2] });
    assert.equal(parts.status, 200, JSON.stringify(parts.body));
    assert.deepEqual(ids(parts.body, 2), [1, 2]);
    // A hole whose corner touches the shell's edge at (1 0), a vertex of the hole on an edge of the shell.
    const holed = `POLYGON(${wktRing(box(0, 0, 3, 3))},${wktRing([[1, 0], [2, 1], [1, 2], [0.5, 1], [1, 0]])})`;
    const hole = await identify({ srs: 4326, geom: holed, layers: [2] });
    assert.equal(hole.status, 200, JSON.stringify(hole.body));
    assert.deepEqual(ids(hole.body, 2), [3, 4]);
  });

  it('takes a MULTIPOLYGON and hits each part, and not what lies between them', async () => {
    const geom = `MULTIPOLYGON((${wktRing(box(4, 1, 6, 3))}),(${wktRing(box(24, 24, 26, 26))}))`;
    const { body } = await identify({ srs: 4326, geom, layers: [2, 3] });
    assert.deepEqual(ids(body, 2), [1, 2, 5]);
    assert.deepEqual(ids(body, 3), [1]);
    const between = await identify({ srs: 4326, geom: `MULTIPOLYGON((${wktRing(box(23, 0.5, 24, 1.5))}),(${wktRing(box(25, 0.5, 26, 1.5))}))`, layers: [3] });
    assert.deepEqual(ids(between.body, 3), []);
    const onPart = await identify({ srs: 4326, geom: boxWkt(31, 1, 35, 5), layers: [3] });
    assert.deepEqual(ids(onPart.body, 3), [2]);
  });

  it('gives the same answer for the same box in EPSG:3857 and EPSG:4326', async () => {
    const a = await identify({ srs: 4326, geom: boxWkt(1, 1, 21, 6), layers: [2, 3] });
    const [x0, y0] = merc(1, 1), [x1, y1] = merc(21, 6);
    const b = await identify({ srs: 3857, geom: boxWkt(x0, y0, x1, y1), layers: [2, 3] });
    assert.equal(b.status, 200);
    assert.deepEqual(ids(a.body, 2), [1, 2, 4]);
    assert.deepEqual(ids(a.body, 3), [1, 2]);
    assert.deepEqual(b.body, a.body);
    const c = await identify({ srs: 'EPSG:4326', geom: boxWkt(1, 1, 21, 6), layers: [2, 3] });
    assert.deepEqual(c.body, a.body);
  });

  it('grows a clicked POINT by the tolerance, in the units of srs', async () => {
    const near = await identify({ srs: 4326, geom: 'POINT(5.05 2)', tolerance: 0.1, layers: [2] });
    assert.deepEqual(ids(near.body, 2), [1, 2]);
    const tight = await identify({ srs: 4326, geom: 'POINT(5.05 2)', tolerance: 0.01, layers: [2] });
    assert.deepEqual(ids(tight.body, 2), []);
    // 3857: a click 367 m (Mercator x) east of feature 1 and 256 m east of feature 2.
    const [x, y] = merc(5.0033, 2);
    const metres = await identify({ srs: 3857, geom: `POINT(${x} ${y})`, tolerance: 500, layers: [2] });
    assert.deepEqual(ids(metres.body, 2), [1, 2]);
    const short = await identify({ srs: 3857, geom: `POINT(${x} ${y})`, tolerance: 300, layers: [2] });
    assert.deepEqual(ids(short.body, 2), [2]);
    // Without tolerance a point hits what it lies in or on.
    const exact = await identify({ srs: 4326, geom: 'POINT(9 9)', layers: [2, 3] });
    assert.deepEqual([ids(exact.body, 2), ids(exact.body, 3)], [[], [1]]);
  });

  it('grows a LINESTRING by the tolerance', async () => {
    const { body } = await identify({ srs: 4326, geom: 'LINESTRING(-1 -0.5,6 -0.5)', tolerance: 0.6, layers: [2, 3] });
    assert.deepEqual(ids(body, 2), [3]);
    assert.deepEqual(ids(body, 3), [1]);
    const bare = await identify({ srs: 4326, geom: 'LINESTRING(-1 -0.5,6 -0.5)', layers: [2, 3] });
    assert.equal(bare.body.featureCount, 0);
  });

  it('cuts each layer at the limit, lowest ids first, and says so', async () => {
    const geom = boxWkt(99, 9, 110, 11);
    const cut = await identify({ srs: 4326, geom, layers: [4], limit: 3 });
    assert.deepEqual(ids(cut.body, 4), [1, 2, 3]);
    assert.deepEqual(cut.body[4].features.map((f: any) => f.label), ['1', '2', '3']);
    assert.equal(cut.body[4].cut, true);
    assert.equal(cut.body.featureCount, 3);
    const whole = await identify({ srs: 4326, geom, layers: [4], limit: 10 });
    assert.equal(whole.body[4].featureCount, 10);
    assert.equal(whole.body[4].cut, false);
  });

  it('agrees with Turf point-in-polygon on every point of a scatter, for a concave holed shape', async () => {
    const star = starWithHole();
    const geom = `POLYGON(${star.coordinates.map(wktRing).join(',')})`;
    const { body } = await identify({ srs: 4326, geom, layers: [5], limit: 10_000 });
    const expected = SCATTER.filter((f) => booleanPointInPolygon((f.geometry as any).coordinates, star)).map((f) => f.id);
    assert.ok(expected.length > 100 && expected.length < 2000, `a test that can fail: ${expected.length} points inside`);
    assert.deepEqual(ids(body, 5), expected);
  });

  it('agrees with Turf booleanIntersects on polygons, multipolygons and lines around a concave holed shape', async () => {
    const star = starWithHole();
    const geom = `POLYGON(${star.coordinates.map(wktRing).join(',')})`;
    const { body } = await identify({ srs: 4326, geom, layers: [6, 7], limit: 10_000 });
    for (const [layer, features] of [[6, AREAS], [7, LINES]] as const) {
      const expected = features.filter((f) => booleanIntersects(f.geometry, star)).map((f) => f.id);
      assert.ok(expected.length > 20 && expected.length < features.length - 20, `a test that can fail: ${expected.length} hit`);
      assert.deepEqual(ids(body, layer), expected);
    }
  });

  it('agrees with Turf booleanIntersects for a line and a cloud of points of thousands of vertices (tested piece by piece)', async () => {
    // A spiral out from the centre, some 6 turns 3 degrees apart, and 3,000 points, half of them the scatter's own.
    const spiral = Array.from({ length: 4000 }, (_, k) => {
      const a = k / 100, r = 0.5 + (k / 4000) * 18.5;
      return [r * Math.cos(a), r * Math.sin(a)];
    });
    const cloud = [...SCATTER.slice(0, 1500).map((f) => (f.geometry as any).coordinates), ...scatter(1500, 5)];
    const cases: [string, Geometry, [number, Feature[]][]][] = [
      [`LINESTRING${wktRing(spiral)}`, { type: 'LineString', coordinates: spiral }, [[6, AREAS], [7, LINES], [11, BIG_AREAS]]],
      [`MULTIPOINT${wktRing(cloud)}`, { type: 'MultiPoint', coordinates: cloud }, [[5, SCATTER], [6, AREAS], [11, BIG_AREAS]]],
    ];
    for (const [geom, shape, layers] of cases) {
      const { status, body } = await identify({ srs: 4326, geom, layers: layers.map(([id]) => id), limit: 10_000 });
      assert.equal(status, 200, JSON.stringify(body));
      for (const [layer, features] of layers) {
        const expected = features.filter((f) => booleanIntersects(f.geometry, shape)).map((f) => f.id);
        const margin = Math.min(20, features.length / 6);
        assert.ok(expected.length > margin && expected.length < features.length - margin, `a test that can fail: ${expected.length} of ${features.length} hit`);
        assert.deepEqual(ids(body, layer), expected, `${shape.type}, layer ${layer}`);
      }
    }
  });

  it('sends a search with a many-vertex shape to a worker, with the same exact answer', async () => {
    // A wavy ring of 2,400 vertices: above the pool's threshold (OFFLOAD_VERTICES).
    const ring = Array.from({ length: 2400 }, (_, k) => {
      const a = (k / 2400) * 2 * Math.PI, r = 12 + 3 * Math.sin(a * 17);
      return [r * Math.cos(a), r * Math.sin(a)];
    });
    ring.push(ring[0]);
    const wavy: Polygon = { type: 'Polygon', coordinates: [ring] };
    const { result: { body }, asked } = await tasksAsked(() => identify({ srs: 4326, geom: `POLYGON(${wktRing(ring)})`, layers: [5], limit: 10_000 }));
    assert.deepEqual(asked, ['identify.search'], 'its WKT (86 KB) read here, the search in a worker');
    const expected = SCATTER.filter((f) => booleanPointInPolygon((f.geometry as any).coordinates, wavy)).map((f) => f.id);
    assert.ok(expected.length > 300, `a test that can fail: ${expected.length} points inside`);
    assert.deepEqual(ids(body, 5), expected);
  });

  it('answers PUT and the older /feature_layer/identify path alike', async () => {
    const req = { srs: 4326, geom: boxWkt(0, 0, 5, 5), layers: [2] };
    const post = await identify(req);
    const put = await identify(req, 'PUT', '/feature_layer/identify');
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, post.body);
  });

  it('marks a layer the caller may not read as Forbidden and identifies the rest', async () => {
    const { status, body } = await identify({ srs: 4326, geom: boxWkt(-1, -1, 5, 5), layers: [2, 9, 10] });
    assert.equal(status, 200);
    assert.deepEqual(body[9], { error: 'Forbidden' });
    assert.deepEqual(ids(body, 2), [1, 3, 4]);
    assert.deepEqual(ids(body, 10), [1, 3, 4]);
    assert.equal(body.featureCount, 6);
    // The parent group's name is only given to those who may read the group.
    assert.equal(body[2].features[0].parent, 'Test group');
    assert.equal('parent' in body[10].features[0], false);
  });

  /** A ring of 20,000 long parallel teeth: no edge crosses another, but every box overlaps every other. */
  const intricateRing = () => {
    const n = 1e6, points: string[] = [];
    for (let i = 0; i < 20_000; i++) { const x = 2 * i; points.push(`${x} 0`, `${x + n} ${n}`, `${x + n + 1} ${n}`, `${x + 1} 0`); }
    return [...points, `${40_000 + n} -5`, '0 -5', '0 0'].join(',');
  };

  it('identifies with a tolerance too small to grow the shape as with none', async () => {
    const res = await identify({ srs: 4326, geom: 'POINT(0 0)', layers: [2], tolerance: 5e-324 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const none = await identify({ srs: 4326, geom: 'POINT(0 0)', layers: [2] });
    assert.deepEqual(res.body, none.body);
    // The point lies on feature 3 and on nothing else.
    assert.deepEqual(res.body[2].features.map((f: any) => [f.id, f.label]), [[3, 'corner']]);
  });

  it('reads a body with a byte-order mark, or gzip- or deflate-encoded; refuses a broken, unknown or oversized encoding', async () => {
    const body = JSON.stringify({ srs: 4326, geom: boxWkt(-1, -1, 5, 5), layers: [2] });
    const post = (data: Buffer, headers: Record<string, string> = {}) =>
      s.json('/api/feature_layer/identify', { method: 'POST', body: data, headers: { 'content-type': 'application/json', ...headers } });
    const bom = await post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]));
    assert.deepEqual(ids(bom.body, 2), [1, 3, 4]);
    assert.deepEqual(ids((await post(gzipSync(body), { 'content-encoding': 'gzip' })).body, 2), [1, 3, 4]);
    assert.deepEqual(ids((await post(deflateSync(body), { 'content-encoding': 'deflate' })).body, 2), [1, 3, 4]);
    const broken = await post(Buffer.from('not gzip'), { 'content-encoding': 'gzip' });
    assert.deepEqual([broken.status, broken.body.code], [400, 'INVALID_BODY']);
    // 6 MB once inflated, a few KB on the wire.
    const bomb = await post(gzipSync(Buffer.alloc(6 * 2 ** 20, 32)), { 'content-encoding': 'gzip' });
    assert.deepEqual([bomb.status, bomb.body.code], [413, 'PAYLOAD_TOO_LARGE']);
    const br = await post(Buffer.from(body), { 'content-encoding': 'br' });
    assert.deepEqual([br.status, br.body.code], [415, 'UNSUPPORTED_MEDIA_TYPE']);
  });

  it('refuses a compressed body too large once inflated while the rest of it is still to come, and keeps serving', async () => {
    // The refusal destroys the request stream mid-body, which sets its socket to null: the request
    // counting once read the socket from it when the response closed, and the throw ended the process.
    const bomb = gzipSync(Buffer.alloc(6 * 2 ** 20, 32));
    const socket = connect(Number(new URL(s.url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => { answer += chunk; });
    await new Promise((r) => socket.once('connect', r));
    socket.write(`POST /api/feature_layer/identify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length + 100_000}\r\n\r\n`);
    socket.write(bomb);
    try {
      await until(() => answer.includes('\r\n\r\n'), 5000);
      assert.match(answer, /^HTTP\/1\.1 413 /);
      assert.match(answer, /"code":"PAYLOAD_TOO_LARGE"/);
    } finally {
      socket.destroy();
    }
    assert.equal((await identify({ srs: 4326, geom: 'POINT(0 0)', layers: [2] })).status, 200);
  });

  it('logs a client that leaves mid-body as gone (499), not as a server error', async () => {
    const logged: { msg: string; status?: number }[] = [];
    const dir = tempData({ catalog: CATALOG });
    writeFileSync(join(dir, 'points.geojson'), JSON.stringify({ type: 'FeatureCollection', features: POINTS }));
    const watched = await startServer({ dataDir: dir, log: pino({ level: 'info' }, { write: (line: string) => { logged.push(JSON.parse(line)); } }) });
    try {
      const socket = connect(Number(new URL(watched.url).port), '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write('POST /api/feature_layer/identify HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"srs": 4326, "geom": "POLY');
      await new Promise((r) => setTimeout(r, 100));
      socket.destroy();
      await until(() => logged.some((l) => l.msg === 'request'));
      assert.deepEqual(logged.filter((l) => l.msg === 'request').map((l) => l.status), [499]);
      assert.deepEqual(logged.filter((l) => l.msg === 'unexpected error'), []);
      assert.equal((await watched.json('/api/feature_layer/identify', { method: 'POST', body: JSON.stringify({ srs: 4326, geom: 'POINT(0 0)', layers: [2] }) })).status, 200);
    } finally {
      await watched.stop();
    }
  });

  it('reads a shape of 100,000 vertices in a worker, and searches with it there, with the exact answer', async () => {
    // Reading and checking it took the main thread ~0.4 s (the WKT reader, before it was mended, 2 s).
    const ring = wavyRing(0, 0, 15, 10, 99_999);
    const geom = `POLYGON(${wktRing(ring)})`;
    const { result: { result, stallMs }, asked } = await tasksAsked(() => watchLoop(() => identify({ srs: 4326, geom, layers: [2, 5], limit: 10_000 })));
    assert.equal(result.status, 200, JSON.stringify(result.body));
    assert.deepEqual(asked, ['identify.shape', 'identify.search', 'identify.search'], 'read in a worker, each layer searched in one');
    assert.ok(stallMs < 1000, `the event loop stalled for ${Math.round(stallMs)} ms`);
    const scatter = SCATTER.filter((f) => booleanPointInPolygon((f.geometry as any).coordinates, { type: 'Polygon', coordinates: [ring] })).map((f) => f.id);
    assert.ok(scatter.length > 20 && scatter.length < SCATTER.length - 20, `a test that can fail: ${scatter.length} of ${SCATTER.length} points inside`);
    assert.deepEqual(ids(result.body, 5), scatter);
  });

  describe('refuses bad requests with a JSON error naming the problem', () => {
    const cases: [string, unknown, number, string, RegExp][] = [
      ['invalid JSON', '{"srs": 4326,', 400, 'INVALID_BODY', /cannot be parsed/],
      ['a body that is not an object', '[1, 2]', 400, 'INVALID_BODY', /object/],
      ['a body over 5 MB', JSON.stringify({ srs: 4326, geom: `POINT(${'1'.repeat(5_300_000)} 1)`, layers: [2] }), 413, 'PAYLOAD_TOO_LARGE', /5 MB/],
      // Refused before JSON.parse, which would spend ~0.5 s of the main thread on 5 MB of them.
      ['a body of nested brackets', '['.repeat(4_000_000), 400, 'INVALID_BODY', /more than 10000 values outside strings/],
      ['a body of a million values', JSON.stringify({ srs: 4326, geom: 'POINT(0 0)', layers: [2], pad: new Array(1_000_000).fill(0) }), 400, 'INVALID_BODY', /more than 10000 values/],
      // Brackets inside a string (after an escaped quote, before an escaped backslash) are not values.
      ['brackets in a string', JSON.stringify({ srs: 4326, geom: `POINT(0 0)"${'['.repeat(20_000)}\\`, layers: [2] }), 422, 'INVALID_GEOMETRY', /text follows the geometry/],
      ['a missing geom', { srs: 4326, layers: [2] }, 400, 'INVALID_PARAMETER', /"geom" is required/],
      ['a missing srs', { geom: boxWkt(0, 0, 1, 1), layers: [2] }, 400, 'INVALID_PARAMETER', /"srs" is required/],
      ['missing layers', { srs: 4326, geom: boxWkt(0, 0, 1, 1) }, 400, 'INVALID_PARAMETER', /"layers" is required/],
      ['empty layers', { srs: 4326, geom: boxWkt(0, 0, 1, 1), layers: [] }, 400, 'INVALID_PARAMETER', /"layers"/],
      ['a layer id that is not a number', { srs: 4326, geom: boxWkt(0, 0, 1, 1), layers: ['x'] }, 400, 'INVALID_PARAMETER', /"layers"/],
      ['a geom that is not a string', { srs: 4326, geom: 5, layers: [2] }, 400, 'INVALID_PARAMETER', /"geom" must be a WKT/],
      ['unparseable WKT', { srs: 4326, geom: 'POLYGON((0 0, 1 1', layers: [2] }, 422, 'INVALID_GEOMETRY', /not valid WKT/],
      ['text after the geometry', { srs: 4326, geom: 'POINT(0 0) (5 5)', layers: [2] }, 422, 'INVALID_GEOMETRY', /text follows the geometry/],
      ['a self-intersecting polygon', { srs: 4326, geom: 'POLYGON((0 0,2 2,2 0,0 2,0 0))', layers: [2] }, 422, 'INVALID_GEOMETRY', /intersects itself/],
      ['an unclosed ring', { srs: 4326, geom: 'POLYGON((0 0,2 0,2 2,0 2,0 1))', layers: [2] }, 422, 'INVALID_GEOMETRY', /not closed/],
      ['a geometry collection', { srs: 4326, geom: 'GEOMETRYCOLLECTION(POINT(1 1))', layers: [2] }, 422, 'INVALID_GEOMETRY', /GeometryCollection/],
      ['an unknown srs', { srs: 999999, geom: boxWkt(0, 0, 1, 1), layers: [2] }, 400, 'INVALID_PARAMETER', /"srs"/],
      ['an srs that is no code', { srs: 'mercator', geom: boxWkt(0, 0, 1, 1), layers: [2] }, 400, 'INVALID_PARAMETER', /"srs"/],
      ['an unknown layer', { srs: 4326, geom: boxWkt(0, 0, 1, 1), layers: [2, 99] }, 404, 'RESOURCE_NOT_FOUND', /99/],
      ['a resource that is not a feature layer', { srs: 4326, geom: boxWkt(0, 0, 1, 1), layers: [1] }, 422, 'NOT_A_FEATURE_LAYER', /Resource 1/],
      ['too many vertices', { srs: 4326, geom: `LINESTRING(${Array.from({ length: 100_001 }, (_, k) => `${k % 90} 0`).join(',')})`, layers: [2] }, 400, 'TOO_MANY_VERTICES', /100000/],
      ['too many layers', { srs: 4326, geom: boxWkt(0, 0, 1, 1), layers: Array.from({ length: 101 }, (_, k) => k + 1) }, 400, 'TOO_MANY_LAYERS', /100/],
      ['a limit out of range', { srs: 4326, geom: boxWkt(0, 0, 1, 1), layers: [2], limit: 0 }, 400, 'INVALID_PARAMETER', /"limit"/],
      ['a negative tolerance', { srs: 4326, geom: 'POINT(1 1)', layers: [2], tolerance: -1 }, 400, 'INVALID_PARAMETER', /"tolerance"/],
      ['a tolerance on a polygon', { srs: 4326, geom: boxWkt(0, 0, 1, 1), layers: [2], tolerance: 1 }, 400, 'INVALID_PARAMETER', /POINT and LINESTRING/],
      // Shapes whose checking or growing cost without bound (each crashed the server once).
      ['thousands of overlapping holes', { srs: 3857, geom: `POLYGON((0 0,1 0,1 1,0 1,0 0)${',(0.1 0.1,0.2 0.1,0.2 0.2,0.1 0.1)'.repeat(5000)})`, layers: [2] }, 422, 'INVALID_GEOMETRY', /intersects itself/],
      ['edges whose boxes all overlap', { srs: 3857, geom: `POLYGON((${intricateRing()}))`, layers: [2] }, 422, 'INVALID_GEOMETRY', /too intricate/],
      ['two parts sharing a stretch of edge', { srs: 4326, geom: `MULTIPOLYGON((${wktRing(box(0, 0, 2, 2))}),(${wktRing(box(2, 1, 4, 3))}))`, layers: [2] }, 422, 'INVALID_GEOMETRY', /intersects itself \(near 2 1\)/],
      ['a hole along its shell', { srs: 4326, geom: `POLYGON(${wktRing(box(0, 0, 4, 4))},${wktRing(box(0, 1, 2, 2))})`, layers: [2] }, 422, 'INVALID_GEOMETRY', /intersects itself \(near 0 1\)/],
      ['a ring touching itself at a vertex', { srs: 4326, geom: 'POLYGON((0 0,4 0,2 2,4 4,0 4,2 2,0 0))', layers: [2] }, 422, 'INVALID_GEOMETRY', /intersects itself \(near 2 2\)/],
      ['a many-point shape with a tolerance', { srs: 3857, geom: `MULTIPOINT(${Array.from({ length: 17 }, (_, k) => `${k} ${k}`).join(',')})`, layers: [2], tolerance: 0.5 }, 400, 'TOO_MANY_VERTICES', /tolerance grows shapes of at most 16/],
      ['a line of one point', { srs: 3857, geom: 'LINESTRING(0 0)', layers: [2], tolerance: 10 }, 422, 'INVALID_GEOMETRY', /fewer than 2 points/],
      ['a line too long to grow', { srs: 3857, geom: 'LINESTRING(0 0,1e308 1e308)', layers: [2], tolerance: 5 }, 422, 'INVALID_GEOMETRY', /grown|outside/],
      ['latitudes past the pole', { srs: 4326, geom: 'POLYGON((0 0,1e308 0,1e308 1e308,0 0))', layers: [2] }, 422, 'INVALID_GEOMETRY', /outside the area where EPSG:4326/],
    ];
    for (const [what, body, status, code, message] of cases) {
      it(what, async () => {
        const res = await identify(body);
        assert.equal(res.status, status, JSON.stringify(res.body));
        assert.equal(res.body.code, code);
        assert.equal(res.body.status_code, status);
        assert.match(res.body.message, message);
        // The same title whether the shape was read here or, when long, in a worker.
        if (code === 'INVALID_GEOMETRY') assert.equal(res.body.title, 'Geometry is not valid');
      });
    }
  });
});

describe('packed shapes (an identify shape between threads)', () => {
  it('unpack to the shape they were packed from, of every type, after the trip', () => {
    const shapes: Shape[] = [
      { type: 'Point', coordinates: [1.5, -2] },
      { type: 'MultiPoint', coordinates: [[0, 0], [1e-9, 1e300]] },
      { type: 'LineString', coordinates: [[0, 0], [1, 1], [2, 0]] },
      { type: 'MultiLineString', coordinates: [[[0, 0], [1, 1]], [[5, 5], [6, 6], [7, 5]]] },
      { type: 'Polygon', coordinates: [box(0, 0, 4, 4), box(1, 1, 2, 2)] },
      { type: 'MultiPolygon', coordinates: [[box(0, 0, 1, 1)], [box(2, 2, 5, 5), box(3, 3, 4, 4)]] },
    ];
    for (const shape of shapes) assert.deepEqual(unpackShape(structuredClone(packShape(shape))), shape, shape.type);
  });
});
