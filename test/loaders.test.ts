// Every source format, loaded from the real files in test/fixtures/ (made with GDAL, see its README)
// and read back through the HTTP API. Coordinates are checked against known positions.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FIXTURES, fixtureData, startServer, tempData, type TestServer } from './helpers/server.js';

/** The lon/lat GDAL started from when it wrote the projected fixtures. */
const TOWNS = JSON.parse(readFileSync(join(FIXTURES, 'src/towns.geojson'), 'utf8')).features as
  { properties: { name: string }; geometry: { coordinates: [number, number] } }[];

function near(actual: number[], expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`));
}

const fieldsOf = (body: any) => body.feature_layer.fields.map((f: any) => `${f.keyname}:${f.datatype}`);

describe('format loaders on real files', () => {
  let s: TestServer;
  before(async () => { s = await startServer({ dataDir: fixtureData() }); });
  after(() => s.stop());

  for (const [id, kind] of [[2, 'Shapefile'], [3, 'zipped Shapefile'], [5, 'CSV with X/Y columns in EPSG:32633']] as const) {
    it(`${kind}: typed fields, and UTM 33N brought back to the source lon/lat`, async () => {
      const { status, body } = await s.json(`/api/resource/${id}`);
      assert.equal(status, 200);
      assert.equal(body.vector_layer.geometry_type, 'POINT');
      assert.equal(body.vector_layer.status, 'ready');
      assert.deepEqual(fieldsOf(body), ['name:STRING', 'pop:INTEGER', 'area_km2:REAL', 'founded:DATE']);
      const gj = await (await s.get(`/api/resource/${id}/geojson`)).json() as any;
      assert.equal(gj.features.length, TOWNS.length);
      for (const town of TOWNS) {
        const f = gj.features.find((x: any) => x.properties.name === town.properties.name);
        assert.ok(f, `${town.properties.name} is exported`);
        near(f.geometry.coordinates, town.geometry.coordinates, 1e-7, town.properties.name);
      }
      const vienna = gj.features.find((x: any) => x.properties.name === 'Vienna');
      assert.deepEqual(vienna.properties, { name: 'Vienna', pop: 1897000, area_km2: 414.87, founded: '1137-01-01' });
      assert.equal(gj.features.find((x: any) => x.properties.name.startsWith('Zagreb')).properties.name, 'Zagreb, "Agram"');
      assert.equal(gj.features.find((x: any) => x.properties.name === 'On meridian').properties.founded, null, 'a blank date is null');
    });
  }

  it('the point on the 15°E meridian at the equator is (500000, 0) in UTM 33N, by definition of the zone', async () => {
    const { body: list } = await s.json('/api/resource/2/feature/?srs=4326&fields=name');
    const onMeridian = list.find((f: any) => f.fields.name === 'On meridian');
    near(/POINT ?\((\S+) (\S+)\)/.exec(onMeridian.geom)!.slice(1).map(Number), [15, 0], 1e-9, 'lon/lat');
    const { body } = await s.json(`/api/resource/2/feature/${onMeridian.id}?srs=32633`);
    const [x, y] = /POINT ?\((\S+) (\S+)\)/.exec(body.geom)!.slice(1).map(Number);
    near([x, y], [500000, 0], 1e-3, 'UTM');
  });

  it('GeoPackage in EPSG:3857: source fids, BIGINT/DATE/DATETIME columns, holes, web mercator undone', async () => {
    const { body } = await s.json('/api/resource/4');
    assert.equal(body.vector_layer.geometry_type, 'POLYGON');
    assert.deepEqual(fieldsOf(body), ['owner:STRING', 'value:BIGINT', 'ratio:REAL', 'surveyed:DATE', 'updated:DATETIME']);
    const { body: features } = await s.json('/api/resource/4/feature/?srs=4326&dt_format=iso');
    assert.deepEqual(features.map((f: any) => f.id), [10, 20, 30]);
    assert.deepEqual(features[0].fields, { owner: 'Ada', value: 5000000000, ratio: 0.25, surveyed: '2021-03-04', updated: '2024-01-02T10:20:30' });
    assert.deepEqual(features[2].fields, { owner: null, value: null, ratio: null, surveyed: null, updated: null });
    const gj = await (await s.get('/api/resource/4/geojson')).json() as any;
    // x = 111319.4908 m in EPSG:3857 is exactly 1° of longitude (R·π/180).
    const ring = gj.features[0].geometry.coordinates[0];
    near(ring[1], [1, 0], 1e-9, 'corner (1, 0)');
    near(ring[2], [1, 1], 1e-9, 'corner (1, 1)');
    assert.equal(gj.features[1].geometry.coordinates.length, 2, 'the hole survives');
    near(gj.features[1].geometry.coordinates[1][0], [10.2, 45.2], 1e-9, 'hole corner');
    const { body: extent } = await s.json('/api/resource/4/extent');
    near([extent.extent.minLon, extent.extent.minLat, extent.extent.maxLon, extent.extent.maxLat], [-75, 0, 11, 46], 1e-9, 'extent');
    assert.equal((await s.json('/api/resource/4/feature/20')).body.id, 20);
    assert.equal((await s.json('/api/resource/4/feature/1')).status, 404);
  });

  it('CSV with a WKT column: lines, quoted values, numbers typed', async () => {
    const { body } = await s.json('/api/resource/6');
    assert.equal(body.vector_layer.geometry_type, 'MULTILINESTRING');
    assert.deepEqual(fieldsOf(body), ['route:STRING', 'lanes:INTEGER']);
    const { body: f3 } = await s.json('/api/resource/6/feature/3?srs=4326');
    assert.equal(f3.geom, 'MULTILINESTRING((15.9819 45.815,16.3725 48.2083),(15 45,15 46))');
    assert.deepEqual(f3.fields, { route: 'C3; with, comma', lanes: 1 });
  });

  it('GeoJSON: DATE, TIME, DATETIME, BIGINT and REAL inferred; dates as NGW objects or ISO', async () => {
    const { body } = await s.json('/api/resource/7');
    assert.deepEqual(fieldsOf(body), ['day:DATE', 'starts:TIME', 'stamp:DATETIME', 'visitors:BIGINT', 'rating:REAL', 'title:STRING']);
    assert.equal(body.feature_layer.fields.find((f: any) => f.keyname === 'title').label_field, true);
    const { body: obj } = await s.json('/api/resource/7/feature/1');
    assert.deepEqual(obj.fields, {
      day: { year: 2024, month: 5, day: 1 },
      starts: { hour: 13, minute: 45, second: 0 },
      stamp: { year: 2024, month: 5, day: 1, hour: 13, minute: 45, second: 0 },
      visitors: 5000000000, rating: 4.5, title: 'Parade',
    });
    const { body: iso } = await s.json('/api/resource/7/feature/2?dt_format=iso');
    assert.deepEqual(iso.fields, { day: '2023-12-31', starts: '23:59:59', stamp: '2023-12-31T23:59:59', visitors: 42, rating: 3.25, title: 'Fireworks' });
    const { body: empty } = await s.json('/api/resource/7/feature/3');
    assert.deepEqual(empty.fields, { day: null, starts: null, stamp: null, visitors: null, rating: null, title: 'Nothing known' });
  });

  it('a source that declares no CRS takes the catalog\'s srs (here a Shapefile without its .prj)', async () => {
    const dir = tempData({ catalog: { resources: [
      { id: 1, cls: 'vector_layer', parent: 0, display_name: 'With srs', source: 'towns.shp', srs: 32633 },
      { id: 2, cls: 'vector_layer', parent: 0, display_name: 'Without', source: 'towns.shp' },
    ] } });
    for (const ext of ['shp', 'shx', 'dbf', 'cpg']) copyFileSync(join(FIXTURES, `towns_utm33.${ext}`), join(dir, `towns.${ext}`));
    const t = await startServer({ dataDir: dir });
    try {
      const vienna = TOWNS[0].geometry.coordinates;
      const withSrs = await (await t.get('/api/resource/1/geojson')).json() as any;
      near(withSrs.features[0].geometry.coordinates, vienna, 1e-7, 'reprojected from the srs option');
      // Without it the metres are taken for degrees: the layer loads, visibly wrong, as GDAL would show it.
      const without = await (await t.get('/api/resource/2/geojson')).json() as any;
      near(without.features[0].geometry.coordinates, [601968.428606474, 5340362.98287817], 1e-6, 'kept as stored');
    } finally {
      await t.stop();
    }
  });
});

