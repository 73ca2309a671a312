// Long rings and features of many parts, cut at every zoom: what a served tile covers must be the
// source clipped to the buffered tile (areas and lengths from Turf's bboxClip of the source in tile
// units), so skipping far runs of vertices and far parts (tiling/blocks.ts) loses and adds nothing.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bboxClip, lineString, multiPolygon } from '@turf/turf';
import type { FeatureCollection, Position } from 'geojson';
import { decode, features, ringArea, toTile } from './helpers/mvt.js';
import { startServer, tempData, type TestServer } from './helpers/server.js';

const circle = (cx: number, cy: number, r: number, n: number, wiggle = 0): Position[] => {
  const ring = Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n, rr = r + wiggle * Math.sin(13 * a);
    return [cx + rr * Math.cos(a), cy + rr * Math.sin(a)];
  });
  return [...ring, ring[0]];
};
const square = (x: number, y: number, s: number): Position[] => [[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]];

// One country-like feature: a long wiggly coast with a lake, then 150 islands, each with a hole.
const COAST = [[circle(10, 5, 20, 6000, 1), circle(10, 5, 3, 300).reverse()]];
const ISLANDS = Array.from({ length: 150 }, (_, i) => {
  const x = 40 + (i % 15) * 2.5, y = -20 + Math.floor(i / 15) * 4;
  return [square(x, y, 1), square(x + 0.3, y + 0.3, 0.4).reverse()];
});
const SHAPE = [...COAST, ...ISLANDS];
const LINE = Array.from({ length: 8000 }, (_, i) => [-170 + i * 0.04, 40 + 5 * Math.sin(i / 50)]);

let server: TestServer;

before(async () => {
  const dataDir = tempData({ catalog: { resources: [
    { id: 1, cls: 'vector_layer', parent: 0, display_name: 'Shape', source: 'shape.geojson' },
    { id: 2, cls: 'vector_layer', parent: 0, display_name: 'Line', source: 'line.geojson' },
  ] } });
  const fc = (geometry: unknown): FeatureCollection => ({ type: 'FeatureCollection', features: [{ type: 'Feature', id: 1, properties: {}, geometry } as never] });
  writeFileSync(join(dataDir, 'shape.geojson'), JSON.stringify(fc({ type: 'MultiPolygon', coordinates: SHAPE })));
  writeFileSync(join(dataDir, 'line.geojson'), JSON.stringify(fc({ type: 'LineString', coordinates: LINE })));
  server = await startServer({ dataDir });
});
after(() => server.stop());

/** The tile z/x/y holding lon/lat. */
function tileAt(lon: number, lat: number, z: number): [number, number, number] {
  const [tx, ty] = toTile(lon, lat, z, 0, 0, 1);
  return [z, Math.floor(tx), Math.floor(ty)];
}

const BOX: [number, number, number, number] = [-204.8, -204.8, 4300.8, 4300.8]; // default padding 0.05

async function served(id: number, z: number, x: number, y: number) {
  const res = await server.get(`/api/resource/${id}/${z}/${x}/${y}.mvt?simplification=0`, { headers: { 'accept-encoding': 'identity' } });
  assert.ok(res.status === 200 || res.status === 204, `${z}/${x}/${y}: ${res.status}`);
  return res.status === 200 ? features(decode(new Uint8Array(await res.arrayBuffer())), `ngw:${id}`) : [];
}

const perimeter = (ring: Position[]) => ring.slice(1).reduce((s, p, i) => s + Math.hypot(p[0] - ring[i][0], p[1] - ring[i][1]), 0);
const area = (ring: Position[]) => ringArea(ring.map(([x, y]) => ({ x, y })));

test('clipped polygon areas match the source at every zoom, on the coast and among the islands', async () => {
  const places: [number, number][] = [[10 + 20 * Math.cos(0.7), 5 + 20 * Math.sin(0.7)], [10, 5 + 3], [47.7, -11.7], [40.2, -19.8]];
  let checked = 0;
  for (const [lon, lat] of places) {
    for (let z = 2; z <= 12; z += 2) {
      const [tz, tx, ty] = tileAt(lon, lat, z);
      const inTile = SHAPE.map((poly) => poly.map((ring) => ring.map(([a, b]) => toTile(a, b, tz, tx, ty))));
      const clipped = bboxClip(multiPolygon(inTile), BOX).geometry.coordinates as Position[][][];
      let want = 0, slack = 8;
      for (const poly of clipped) {
        poly.forEach((ring, i) => { if (ring.length) { want += (i === 0 ? 1 : -1) * Math.abs(area(ring)); slack += perimeter(ring); } });
      }
      const got = (await served(1, tz, tx, ty)).flatMap((f) => f.loadGeometry()).reduce((s, ring) => s + ringArea(ring), 0);
      assert.ok(Math.abs(got - want) <= slack, `${tz}/${tx}/${ty}: area ${got}, source clipped ${want} (±${slack.toFixed(0)})`);
      if (want > 0) checked++;
    }
  }
  assert.ok(checked >= 20, `only ${checked} non-empty tiles checked`);
});

test('a long line clipped at every zoom keeps its length inside the tile', async () => {
  for (let z = 3; z <= 13; z += 2) {
    const [tz, tx, ty] = tileAt(-170 + 3000 * 0.04, 40 + 5 * Math.sin(3000 / 50), z);
    const inTile = LINE.map(([a, b]) => toTile(a, b, tz, tx, ty));
    const clipped = bboxClip(lineString(inTile), BOX).geometry;
    const runs = (clipped.type === 'LineString' ? [clipped.coordinates] : clipped.coordinates) as Position[][];
    const want = runs.reduce((s, r) => s + perimeter(r), 0);
    const lines = (await served(2, tz, tx, ty)).flatMap((f) => f.loadGeometry());
    const got = lines.reduce((s, r) => s + perimeter(r.map((p) => [p.x, p.y])), 0);
    const vertices = runs.reduce((s, r) => s + r.length, 0);
    assert.ok(want > 0, `${tz}/${tx}/${ty}: the line should cross this tile`);
    assert.ok(Math.abs(got - want) <= vertices * 1.5 + 2, `${tz}/${tx}/${ty}: length ${got}, source clipped ${want}`);
  }
});

test('low-zoom tiles cut at preparation hold what a worker cuts on request', async () => {
  // A two-layer tile is always cut by a worker; a single-layer z0–z5 tile comes from preparation.
  const decoded = async (path: string) => {
    const res = await server.get(path, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(res.status, 200, path);
    return features(decode(new Uint8Array(await res.arrayBuffer())), 'ngw:1')
      .map((f) => JSON.stringify([f.id, f.type, f.properties, f.loadGeometry()]));
  };
  let compared = 0;
  for (let z = 0; z <= 5; z++) {
    const [, x, y] = tileAt(10 + 20 * Math.cos(2), 5 + 20 * Math.sin(2), z);
    const single = await decoded(`/api/resource/1/${z}/${x}/${y}.mvt`);
    const cut = await decoded(`/api/component/feature_layer/mvt?resource=1,2&z=${z}&x=${x}&y=${y}`);
    assert.deepEqual(single, cut, `${z}/${x}/${y}`);
    compared += single.length;
  }
  assert.ok(compared >= 6);
  // Beyond the pre-cut zooms, and where nothing is, tiles answer as before.
  const empty = await server.get('/api/resource/1/3/0/7.mvt');
  assert.equal(empty.status, 204);
});
