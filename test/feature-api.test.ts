// The NGW resource and feature API on the fixtures: resource JSON blocks, feature JSON, paging,
// filters, output SRS, count and extent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import wkx from 'wkx';
import type { MemoryLayer } from '../src/store/memory-layer.js';
import type { Feature } from '../src/store/types.js';
import { fixtureData, startServer, type TestServer } from './helpers/server.js';

const coords = (wkt: string) => (wkx.Geometry.parse(wkt).toGeoJSON() as { coordinates: any }).coordinates;

describe('resource and feature API', () => {
  let s: TestServer;
  before(async () => { s = await startServer({ dataDir: fixtureData() }); });
  after(() => s.stop());

  it('GET /api/resource/{id}: the resource block, and the vector_layer and feature_layer blocks', async () => {
    const { status, body } = await s.json('/api/resource/4');
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body.resource).sort(), ['children', 'cls', 'description', 'display_name', 'id', 'interfaces',
      'keyname', 'owner_user', 'parent', 'permissions', 'scopes'].sort());
    assert.equal(body.resource.id, 4);
    assert.equal(body.resource.keyname, 'parcels');
    assert.equal(body.resource.children, false);
    assert.deepEqual(body.resource.interfaces, ['IFeatureLayer', 'IBboxLayer']);
    assert.deepEqual(body.vector_layer.srs, { id: 3857 });
    assert.equal(body.vector_layer.geometry_type, 'POLYGON');
    assert.deepEqual(body.feature_layer.fields[1], {
      id: 2, keyname: 'value', datatype: 'BIGINT', typemod: null, display_name: 'value',
      label_field: false, grid_visibility: true, lookup_table: null,
    });
  });

  it('GET /api/resource/0 is the implicit root group; ?parent= lists children by display_name, as NGW', async () => {
    const root = await s.json('/api/resource/0');
    assert.equal(root.body.resource.cls, 'resource_group');
    assert.equal(root.body.resource.parent, null);
    assert.equal(root.body.resource.display_name, 'Main resource group');
    assert.equal(root.body.resource.children, true);
    const { body } = await s.json('/api/resource/?parent=1');
    assert.deepEqual(body.map((r: any) => r.resource.id), [7, 4, 6, 5, 2, 3]);
    const names = body.map((r: any) => r.resource.display_name);
    assert.deepEqual(names, [...names].sort());
    assert.ok(body.every((r: any) => r.resource.parent.id === 1 && r.feature_layer));
    assert.deepEqual((await s.json('/api/resource/?parent=2')).body, []);
  });

  it('feature list: NGW feature JSON, geometry in EPSG:3857 by default, as WKT', async () => {
    const { body } = await s.json('/api/resource/4/feature/');
    assert.equal(body.length, 3);
    assert.deepEqual(Object.keys(body[0]), ['id', 'geom', 'fields', 'extensions']);
    assert.deepEqual(body[0].extensions, { description: null, attachment: null });
    // The GeoPackage stores this corner at exactly these Web Mercator coordinates.
    const ring = coords(body[1].geom)[0];
    assert.ok(Math.abs(ring[1][0] - 1224514.39872601) < 1e-3 && Math.abs(ring[1][1] - 5621521.48619207) < 1e-3, String(ring[1]));
  });

  it('limit and offset page through features in fid order', async () => {
    const page = async (q: string) => (await s.json(`/api/resource/4/feature/?geom=no&${q}`)).body.map((f: any) => f.id);
    assert.deepEqual(await page('limit=2'), [10, 20]);
    assert.deepEqual(await page('limit=2&offset=2'), [30]);
    assert.deepEqual(await page('offset=3'), []);
    assert.deepEqual(await page('limit=0'), []);
    // No cap on the page, as NGW has none: the largest safe integer is every feature.
    assert.deepEqual(await page('limit=9007199254740991&offset=1'), [20, 30]);
  });

  it('fields, geom=no and srs shape each feature', async () => {
    const { body } = await s.json('/api/resource/2/feature/?fields=name,pop&geom=no&limit=1');
    assert.deepEqual(body, [{ id: 1, fields: { name: 'Vienna', pop: 1897000 }, extensions: { description: null, attachment: null } }]);
    const { body: none } = await s.json('/api/resource/2/feature/1?fields=&geom=no');
    assert.equal(none.id, 1);
    const { body: utm } = await s.json('/api/resource/2/feature/1?srs=32633');
    const [x, y] = coords(utm.geom);
    // The shapefile's own stored coordinates for Vienna.
    assert.ok(Math.abs(x - 601968.428606474) < 1e-3 && Math.abs(y - 5340362.98287817) < 1e-3, `${x} ${y}`);
  });

  it('a layer in memory builds no geometry for a reader that does not want it (geom=no lists, identify)', async () => {
    const { layer } = s.services.catalog.layerState(2) as { status: 'ready'; layer: MemoryLayer };
    const whole: Feature[] = [], bare: Feature[] = [];
    for await (const f of layer.features()) whole.push(f);
    for await (const f of layer.features({ geometry: false })) bare.push(f);
    assert.ok(whole.length > 0 && whole.every((f) => f.geometry !== null));
    assert.deepEqual(bare, whole.map((f) => ({ ...f, geometry: null })));
  });

  it('intersects filters by a WKT geometry in the request srs', async () => {
    const ids = async (q: string) => (await s.json(`/api/resource/4/feature/?geom=no&${q}`)).body.map((f: any) => f.id);
    assert.deepEqual(await ids(`srs=4326&intersects=${encodeURIComponent('POINT(10.5 45.5)')}`), [20]);
    // Inside the hole of parcel 20: no polygon contains it.
    assert.deepEqual(await ids(`srs=4326&intersects=${encodeURIComponent('POINT(10.3 45.3)')}`), []);
    assert.deepEqual(await ids(`intersects=${encodeURIComponent('POLYGON((-9000000 0,200000 0,200000 5000000,-9000000 5000000,-9000000 0))')}`), [10, 30]);
  });

  it('feature_count and extent', async () => {
    assert.deepEqual((await s.json('/api/resource/2/feature_count')).body, { total_count: 5 });
    const { body } = await s.json('/api/resource/6/extent');
    assert.deepEqual(body, { extent: { minLon: 13.405, minLat: 45, maxLon: 16.3725, maxLat: 52.52 } });
  });
});
