// `intersects` on the feature API and the exports is tested as identify tests shapes: a feature of
// 100,000 vertices against a shape of hundreds of small parts inside its box costs one clip of the
// feature, not a Turf test per part (that request once held the main thread for eight minutes).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { watchLoop } from './helpers/event-loop.js';
import { startServer, tempData, type TestServer } from './helpers/server.js';

/**
 * The longest a request may hold the event loop (the server runs in the test's process): a clip of
 * the feature takes tens of ms; generous for a slow 2-vCPU VM, far below the regression's minutes.
 */
const MAX_STALL_MS = 2000;

const N = 100_000;
const ring = Array.from({ length: N }, (_, i) => [10 * Math.cos((2 * Math.PI * i) / N), 10 * Math.sin((2 * Math.PI * i) / N)]);
ring.push(ring[0]);

/** `count` small triangles in the corner of the circle's box, outside the circle; and one inside it. */
const triangles = (count: number) => Array.from({ length: count }, (_, k) => {
  const x = -9.9 + (k % 20) * 0.1, y = -9.9 + Math.floor(k / 20) * 0.1;
  return `((${x} ${y},${x + 0.05} ${y},${x} ${y + 0.05},${x} ${y}))`;
});

/** `count` small triangles along the circle's lower-left arc, `from`–`to` units from its centre. */
const alongArc = (count: number, from: number, to: number) => Array.from({ length: count }, (_, k) => {
  const a = Math.PI + ((k + 0.5) * Math.PI) / 2 / count, c = Math.cos(a), s = Math.sin(a), w = 0.002;
  const p = (r: number, side: number) => `${(r * c - side * s).toFixed(5)} ${(r * s + side * c).toFixed(5)}`;
  return `((${p(from, -w)},${p(from, w)},${p(to, 0)},${p(from, -w)}))`;
});

describe('intersects against a feature of 100,000 vertices', () => {
  let s: TestServer;
  before(async () => {
    const dir = tempData({ catalog: { resources: [{ id: 1, cls: 'vector_layer', parent: 0, display_name: 'Disc', source: 'disc.geojson' }] } });
    writeFileSync(join(dir, 'disc.geojson'), JSON.stringify({ type: 'FeatureCollection', features: [
      { type: 'Feature', properties: { name: 'disc' }, geometry: { type: 'Polygon', coordinates: [ring] } },
    ] }));
    s = await startServer({ dataDir: dir });
  });
  after(() => s.stop());

  const ids = async (path: string) => (await s.json(path)).body.map((f: { id: number }) => f.id);
  /** `answer()`'s result, once it is known not to have held the event loop long. */
  const responsive = async <T>(what: string, answer: () => Promise<T>): Promise<T> => {
    const { result, stallMs } = await watchLoop(answer);
    assert.ok(stallMs < MAX_STALL_MS, `${what}: the event loop stalled for ${Math.round(stallMs)} ms`);
    return result;
  };
  const matching = (shape: string) => `/api/resource/1/feature/?srs=4326&geom=no&intersects=${encodeURIComponent(shape)}`;

  it('answers a shape of 200 parts outside the feature but inside its box, one touching it, and parts along its edge', { timeout: 60_000 }, async () => {
    const outside = `MULTIPOLYGON(${triangles(200).join(',')})`;
    assert.deepEqual(await responsive('outside', () => ids(matching(outside))), []);
    const touching = `MULTIPOLYGON(${[...triangles(199), '((-0.1 -0.1,0.1 -0.1,0 0.1,-0.1 -0.1))'].join(',')})`;
    assert.deepEqual(await responsive('touching', () => ids(matching(touching))), [1]);
    // Part by part along the feature's edge: a hair outside it, then one part across it.
    const outsideEdge = alongArc(100, 10.001, 10.01);
    assert.deepEqual(await responsive('along the edge', () => ids(matching(`MULTIPOLYGON(${outsideEdge.join(',')})`))), []);
    const acrossEdge = [...outsideEdge.slice(1), ...alongArc(1, 9.999, 10.01)];
    assert.deepEqual(await responsive('across the edge', () => ids(matching(`MULTIPOLYGON(${acrossEdge.join(',')})`))), [1]);
    for (const line of ['LINESTRING(-9.9 -9.9,-9.8 -9.85)', 'POINT(-9.9 -9.9)']) {
      assert.deepEqual(await responsive(line, () => ids(matching(line))), [], line);
    }
    assert.deepEqual(await responsive('a line into the feature', () => ids(matching('LINESTRING(-9.9 -9.9,0 0)'))), [1]);
    const csv = await responsive('csv', async () => (await s.get(`/api/resource/1/csv?intersects=${encodeURIComponent(outside)}`)).text());
    assert.equal(csv.trim(), 'geom,name');
  });

  it('identifies with a line or a cloud of 40,000 vertices around the feature, which meets it at one vertex or none', { timeout: 120_000 }, async () => {
    // Around the circle a hair outside it, but at vertex `into` (if any), which lies inside. Tested
    // whole by Turf, each took minutes (vertices × vertices); run by run, well under a second.
    const around = (n: number, into?: number) => Array.from({ length: n }, (_, k) => {
      const a = (2 * Math.PI * k) / n, r = k === into ? 9.99 : 10.01;
      return `${(r * Math.cos(a)).toFixed(6)} ${(r * Math.sin(a)).toFixed(6)}`;
    }).join(',');
    const identified = async (geom: string) => {
      const res = await s.json('/api/feature_layer/identify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ srs: 4326, geom, layers: [1] }) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body[1].featureCount;
    };
    for (const type of ['LINESTRING', 'MULTIPOINT']) {
      assert.equal(await identified(`${type}(${around(40_000)})`), 0, `${type} outside`);
      // At the start, the end, and vertices spread over the runs the shape is tested in.
      for (const into of [0, 39_999, ...Array.from({ length: 10 }, (_, k) => 1_000 + k * 3_917)]) {
        assert.equal(await identified(`${type}(${around(40_000, into)})`), 1, `${type} in at ${into}`);
      }
    }
  });
});
