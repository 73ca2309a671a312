// PostGIS layers: the sample vector layers copied into PostgreSQL, served through the same
// HTTP API as the embedded store and compared with it; permissions through the catalog ACL; a
// database that is down or goes away answers 503 and the server recovers. Needs a real server:
// MERIDIAN_TEST_PG_URL (scripts/pg-test-server.sh starts one); skipped without it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import wkx from 'wkx';
import { authServer, basic, createUser, send } from './helpers/auth.js';
import { agreement, describeAgreement, rgbaOf } from './helpers/images.js';
import type { Polygon } from 'geojson';
import { PreparedArea } from '../src/identify/area.js';
import { identifyLayer } from '../src/identify/search.js';
import { inTransaction, Lease, leased } from '../src/store/postgis/connections.js';
import { filterSql } from '../src/store/postgis/filter-sql.js';
import { PostgisLayer } from '../src/store/postgis/postgis-layer.js';
import { describeTable } from '../src/store/postgis/table.js';
import { centralMeridian, domainCut } from '../src/store/postgis/srs-domain.js';
import type { Feature, FilterTerm } from '../src/store/types.js';
import { SQL_MVT_MIN_ZOOM } from '../src/tiling/mvt-tiles.js';
import { decode, insideFeatures } from './helpers/mvt.js';
import { copyLayer, countBytesRead, dropSchema, freshSchema, inSchema, PG_SKIP, PG_URL, viaPort, withOptions } from './helpers/pg.js';
import { wavyRing } from './helpers/shapes.js';
import { Relay } from './helpers/relay.js';
import { until } from './helpers/wait.js';
import { watchLoop } from './helpers/event-loop.js';
import { SAMPLE_DATA, startServer, tempData, type TestServer } from './helpers/server.js';

const SCHEMA = `meridian_test_${process.pid}`;
const sample = JSON.parse(readFileSync(join(SAMPLE_DATA, 'catalog.json'), 'utf8'));
const rule = (action: string, keyname: string, scope: string, permission: string) =>
  ({ action, principal: { keyname }, scope, permission, propagate: true });

/** The resource of the layer of values filters stumble on, in both servers: FILTER_ROWS, fids from 1. */
const FILTERS = 30;
const FILTER_ROWS = [
  { name: '100%', day: '2024-05-01', stamp: '2024-05-01T13:45:00', starts: '13:45:00', n: 1, r: 0.1 },
  { name: '100 percent', day: '2023-12-31', stamp: '2023-12-31T23:59:59', starts: '09:00:00', n: -3, r: 1e20 },
  { name: 'a_b', day: null, stamp: '2024-05-01T13:45:01', starts: '09:00:30', n: 42, r: 1.5e-5 },
  { name: 'axb', n: null, r: 2.5 },
  { name: 'back\\slash', r: 0.1 + 0.2 }, // 0.30000000000000004: 17 significant digits
  { name: 'ΟΔΟΣ' },
  { name: 'İstanbul' },
  { name: 'École' },
  { name: 'ends\\' },
  { name: 'ＡＢ' },
  { name: '😀 smile' },
  { name: '', n: 3 },
  { name: null, n: 7 },
];
/**
 * The resource of a table whose float8 and numeric columns hold NaN, Infinity, -Infinity, 1 and null (fids 1–5),
 * then numerics past a double's range with the doubles they round to: 1e400 and Infinity, -1e400 and -Infinity, 1e-400 and 0 (fids 6–8).
 */
const NONFINITE = 26;
/** The resource of a table whose geometries carry no SRID (0), as shp2pgsql leaves them without -s: POINT EMPTY, then two points. */
const NO_SRID = 27;
/**
 * The resource of FILTERS' table through a connection whose sessions write dates as 01/05/2024 (DateStyle) and
 * doubles to 15 digits (extra_float_digits 0), as a database or role may be set.
 */
const FILTERS_OTHER_SETTINGS = 29;
/** The resource of a table whose (bigint) ids are -2, 0 and 5, as a sequence or a source may number rows. */
const SIGNED_IDS = 28;
/**
 * The resource of a table whose dates and timestamps lie outside the years 1–9999 (past a timestamp's
 * range, 44 BC, infinity; fids 1–3) and whose int8 values lie past 2^53, then ordinary ones (fid 4).
 */
const ODD_VALUES = 31;
/** The resource of a table whose column is a bare `geometry` holding a polygon, a curve polygon and a triangle. */
const UNTYPED = 32;
/** The resource of a table of multipolygons with an empty part each, as PostGIS keeps them. */
const EMPTY_PARTS = 33;
/** The resource of a table holding a point at the north pole, the world's envelope (corners at the poles) and a point at 10°N 10°E. */
const POLES = 34;
/** Sample vector layers: resource id → table. */
const TABLES: Record<number, string> = { 2: 'countries', 6: 'parallels', 9: 'sites', 11: 'capitals' };
describe('PostGIS layers', { skip: PG_SKIP }, () => {
  let db: pg.Client;
  let s: TestServer;        // sample catalog, every vector layer (TABLES) from PostGIS
  let embedded: TestServer; // the same data from the files
  let relay: Relay;
  let configDir: string;

  before(async () => {
    db = await freshSchema(SCHEMA);
    const data = tempData({ copySample: true, catalog: { ...sample, resources: [...sample.resources, { id: FILTERS, cls: 'vector_layer', parent: 1, display_name: 'Filters', source: 'filters.geojson' }] } });
    writeFileSync(join(data, 'filters.geojson'), JSON.stringify({ type: 'FeatureCollection', features: FILTER_ROWS.map((properties, k) =>
      ({ type: 'Feature', properties, geometry: { type: 'Point', coordinates: [k, k] } })) }));
    embedded = await startServer({ dataDir: data });
    for (const [id, name] of Object.entries(TABLES)) await copyLayer(db, embedded, Number(id), SCHEMA, name);
    await copyLayer(db, embedded, FILTERS, SCHEMA, 'filters');
    // 20,000 rows, for what a filter makes PostgreSQL read out.
    await db.query(`CREATE TABLE ${SCHEMA}.many AS SELECT g AS fid, 'n' || g AS name, g % 10 AS band, g / 4.0::float8 AS ratio,
      ST_SetSRID(ST_MakePoint(g % 360 - 180, 0), 4326) AS geom FROM generate_series(1, 20000) g;
      CREATE INDEX many_ratio ON ${SCHEMA}.many (ratio); ANALYZE ${SCHEMA}.many`);
    // The countries, 10 ms a row: a first batch that takes seconds to come.
    await db.query(`CREATE VIEW ${SCHEMA}.slow AS SELECT c.* FROM ${SCHEMA}.countries c, LATERAL (SELECT pg_sleep(0.01)) s`);
    // The countries, after a pause as long as the pause table says (an InitPlan: once per query that reads a row).
    await db.query(`CREATE TABLE ${SCHEMA}.pause (seconds float8); INSERT INTO ${SCHEMA}.pause VALUES (0)`);
    await db.query(`CREATE VIEW ${SCHEMA}.sleepy AS SELECT c.*, (SELECT 0 FROM pg_sleep((SELECT seconds FROM ${SCHEMA}.pause))) AS slept FROM ${SCHEMA}.countries c`);
    // 5,000 rows of 2 ms: the first batch (500) comes in a second, the rest over ten.
    await db.query(`CREATE VIEW ${SCHEMA}.many_slow AS SELECT c.fid * 100 + g AS fid, c.geom FROM ${SCHEMA}.countries c,
      generate_series(1, 20) g, LATERAL (SELECT pg_sleep(0.002)) s`);
    // In UTM 33N, on the zone's central meridian (15°E): 5.5 km inside the lower edge of a 10° box
    // (40°N), and 550 m inside the lower edge of z6 tile 34/24 (36.5979°N).
    await db.query(`CREATE TABLE ${SCHEMA}.utm_site AS SELECT fid, name, ST_Transform(ST_SetSRID(ST_MakePoint(15, lat), 4326), 32633)::geometry(Point, 32633) AS geom
      FROM (VALUES (1, 'Near Taranto', 40.05), (2, 'Off Sicily', 36.6029)) v (fid, name, lat)`);
    await db.query(`CREATE TABLE ${SCHEMA}.nonfinite (fid integer PRIMARY KEY, r float8, d numeric, geom geometry(Point, 4326));
      INSERT INTO ${SCHEMA}.nonfinite SELECT fid, v::float8, v::numeric, ST_SetSRID(ST_MakePoint(fid, 0), 4326)
      FROM (VALUES (1, 'NaN'), (2, 'Infinity'), (3, '-Infinity'), (4, '1'), (5, NULL)) v (fid, v);
      INSERT INTO ${SCHEMA}.nonfinite SELECT fid, r, d, ST_SetSRID(ST_MakePoint(fid, 0), 4326)
      FROM (VALUES (6, 'Infinity'::float8, 1e400), (7, '-Infinity', -1e400), (8, 0, 1e-400)) v (fid, r, d)`);
    await db.query(`CREATE TABLE ${SCHEMA}.no_srid (fid integer PRIMARY KEY, name text, geom geometry(Point));
      INSERT INTO ${SCHEMA}.no_srid VALUES (1, 'empty', 'POINT EMPTY'), (2, 'a', 'POINT(10 20)'), (3, 'b', 'POINT(11 21)')`);
    await db.query(`CREATE TABLE ${SCHEMA}.signed_ids (fid bigint PRIMARY KEY, name text, geom geometry(Point, 4326));
      INSERT INTO ${SCHEMA}.signed_ids VALUES (5, 'five', 'SRID=4326;POINT(5 5)'), (0, 'zero', 'SRID=4326;POINT(0 0)'), (-2, 'minus two', 'SRID=4326;POINT(-2 -2)')`);
    await db.query(`CREATE TABLE ${SCHEMA}.odd_values (fid integer PRIMARY KEY, d date, ts timestamp, tstz timestamptz, big int8, geom geometry(Point, 4326));
      INSERT INTO ${SCHEMA}.odd_values VALUES
        (1, '5874897-12-31', '294276-12-31 23:59:59', '294276-12-31 23:59:59+00', 9223372036854775807, 'SRID=4326;POINT(1 1)'),
        (2, '0044-03-15 BC', '0044-03-15 12:00 BC', '0044-03-15 12:00+00 BC', -9223372036854775808, 'SRID=4326;POINT(2 2)'),
        (3, 'infinity', '-infinity', 'infinity', 9007199254740993, 'SRID=4326;POINT(3 3)'),
        (4, '2024-05-01', '2024-05-01 13:45', '2024-05-01 13:45+02', 1, 'SRID=4326;POINT(4 4)')`);
    await db.query(`CREATE TABLE ${SCHEMA}.untyped (fid integer PRIMARY KEY, name text, geom geometry);
      INSERT INTO ${SCHEMA}.untyped VALUES (1, 'polygon', 'SRID=4326;POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))'),
        (2, 'curve', 'SRID=4326;CURVEPOLYGON(CIRCULARSTRING(6 0, 10 0, 10 4, 6 4, 6 0))'), (3, 'triangle', 'SRID=4326;TRIANGLE((7 1, 7 3, 9 1, 7 1))')`);
    await db.query(`CREATE TABLE ${SCHEMA}.empty_parts (fid integer PRIMARY KEY, geom geometry(MultiPolygon, 4326));
      INSERT INTO ${SCHEMA}.empty_parts VALUES (1, 'SRID=4326;MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), EMPTY)'), (2, 'SRID=4326;MULTIPOLYGON(EMPTY, ((2 2, 3 2, 3 3, 2 2)))')`);
    await db.query(`CREATE TABLE ${SCHEMA}.poles (fid integer PRIMARY KEY, geom geometry(Geometry, 4326));
      INSERT INTO ${SCHEMA}.poles VALUES (1, 'SRID=4326;POINT(0 90)'), (2, ST_MakeEnvelope(-180, -90, 180, 90, 4326)), (3, 'SRID=4326;POINT(10 10)')`);
    await db.query(`CREATE TABLE ${SCHEMA}.sites3857 AS SELECT fid, ST_Transform(geom, 3857)::geometry(Geometry, 3857) AS geom FROM ${SCHEMA}.sites`);
    relay = new Relay(new URL(PG_URL!));
    await relay.open();
    configDir = mkdtempSync(join(tmpdir(), 'meridian-pg-'));
    writeFileSync(join(configDir, 'config.json'), JSON.stringify({
      // Port 1: nothing listens there, so this database is down from the start.
      connections: { broken: 'postgres://nobody:x@127.0.0.1:1/none', relayed: viaPort(PG_URL!, relay.port), small: PG_URL, otherSettings: withOptions(PG_URL!, '-c DateStyle=SQL,DMY -c extra_float_digits=0') },
    }));
    const table = (t: string) => ({ cls: 'postgis_layer', schema: SCHEMA, table: t, column_id: 'fid', column_geom: 'geom', fields: 'update' });
    const catalog = {
      permissions: [rule('allow', 'everyone', 'resource', 'read')],
      resources: [
        ...sample.resources.map((r: any) => {
          if (r.id === 1) return { ...r, permissions: [rule('allow', 'everyone', 'data', 'read')] };
          if (r.id === 8) return { ...r, permissions: [rule('allow', 'authenticated', 'data', 'read')] };
          return TABLES[r.id] ? { ...r, source: undefined, ...table(TABLES[r.id]) } : r;
        }),
        { id: 20, parent: 1, display_name: 'Down', ...table('countries'), connection: 'broken' },
        { id: 21, parent: 1, display_name: 'Relayed', ...table('sites'), connection: 'relayed' },
        { id: 22, parent: 1, display_name: 'Slow', ...table('slow'), connection: 'small', permissions: [rule('allow', 'everyone', 'data', 'read')] },
        { id: 23, parent: 1, display_name: 'Sites in EPSG:3857', ...table('sites3857'), permissions: [rule('allow', 'everyone', 'data', 'read')] },
        { id: 24, parent: 1, display_name: 'Many slow', ...table('many_slow'), connection: 'small', permissions: [rule('allow', 'everyone', 'data', 'read')] },
        { id: 25, parent: 1, display_name: 'A site in UTM', ...table('utm_site'), permissions: [rule('allow', 'everyone', 'data', 'read')] },
        { id: FILTERS, parent: 1, display_name: 'Filters', ...table('filters') },
        { id: NONFINITE, parent: 1, display_name: 'NaN and infinities', ...table('nonfinite') },
        { id: NO_SRID, parent: 1, display_name: 'No SRID', ...table('no_srid') },
        { id: SIGNED_IDS, parent: 1, display_name: 'Ids from -2', ...table('signed_ids') },
        { id: FILTERS_OTHER_SETTINGS, parent: 1, display_name: 'Filters, other session settings', ...table('filters'), connection: 'otherSettings' },
        { id: ODD_VALUES, parent: 1, display_name: 'Dates past the years 1–9999, int8 past 2^53', ...table('odd_values') },
        { id: UNTYPED, parent: 1, display_name: 'Curves and triangles', ...table('untyped') },
        { id: EMPTY_PARTS, parent: 1, display_name: 'Multipolygons with an empty part', ...table('empty_parts') },
        { id: POLES, parent: 1, display_name: 'At the poles', ...table('poles') },
      ],
    };
    s = await authServer({ catalog, env: { MERIDIAN_DATABASE_URL: inSchema(PG_URL!, SCHEMA), MERIDIAN_CONFIG: join(configDir, 'config.json')} });
    await createUser(s, 'bob', 'bob-password');
  });
  after(async () => {
    await s?.stop();
    await embedded?.stop();
    await relay?.cut().catch(() => {});
    if (configDir) rmSync(configDir, { recursive: true, force: true });
    await dropSchema(db, SCHEMA);
  });

  const bob = () => basic('bob', 'bob-password');
  /** SQL: whether pg_stat_activity's `query` reads `table`: a query naming it, or a FETCH from its cursor (named "schema.table"). */
  const about = (table: string) => `(query LIKE '%"${SCHEMA}"."${table}"%' OR query LIKE '%FROM "${SCHEMA}.${table}"')`;
  /** The same request to both servers (as bob, who may read both groups' data). */
  const both = async (path: string) => {
    const [a, b] = await Promise.all([s.json(path, { headers: bob() }), embedded.json(path)]);
    assert.equal(a.status, 200, `${path}: ${JSON.stringify(a.body)}`);
    assert.equal(b.status, 200, path);
    return [a.body, b.body];
  };

  it('resource JSON: the postgis_layer block with NGW names, fields typed from the table as the file store types them', async () => {
    const [pgJson, fileJson] = await both('/api/resource/2');
    assert.equal(pgJson.resource.cls, 'postgis_layer');
    assert.deepEqual(pgJson.resource.interfaces, fileJson.resource.interfaces);
    const block = pgJson.postgis_layer;
    assert.equal(block.status, 'ready');
    assert.deepEqual({ ...block, status: undefined, srs: undefined }, {
      status: undefined, srs: undefined, geometry_type: fileJson.vector_layer.geometry_type,
      connection: { keyname: 'default' }, schema: SCHEMA, table: 'countries', column_id: 'fid', column_geom: 'geom', fields: 'update',
    });
    assert.deepEqual(pgJson.feature_layer.fields, fileJson.feature_layer.fields);
  });

  const bytesOf = async (server: TestServer, path: string) => {
    const res = await server.get(path, { headers: server === s ? bob() : {} });
    assert.equal(res.status, 200, path);
    return res.arrayBuffer();
  };

  /** Coordinates of a WKT or GeoJSON geometry, flat, for comparison within float noise. */
  const coordinates = (g: string | object) => ((typeof g === 'string' ? wkx.Geometry.parse(g).toGeoJSON() : g) as any).coordinates.flat(Infinity) as number[];
  const sameCoordinates = (a: number[], b: number[], what: string) => {
    assert.equal(a.length, b.length, `${what}: same vertices`);
    assert.ok(a.every((v, k) => Math.abs(v - b[k]) < 1e-7), `${what}: same coordinates`);
  };

  // The HTTP matrix of a feature layer, on each sample layer: PostGIS answers as the file store does.
  for (const [id, table] of Object.entries(TABLES)) {
    it(`${table} (${id}): count, extent, pages, single features, GeoJSON export and tiles match the file store`, async () => {
      const [pgCount, fileCount] = await both(`/api/resource/${id}/feature_count`);
      assert.ok(fileCount.total_count >= 5);
      assert.deepEqual(pgCount, fileCount);
      const [pgExtent, fileExtent] = await both(`/api/resource/${id}/extent`);
      for (const k of ['minLon', 'minLat', 'maxLon', 'maxLat']) assert.ok(Math.abs(pgExtent.extent[k] - fileExtent.extent[k]) < 1e-6, k);
      const [pgPage, filePage] = await both(`/api/resource/${id}/feature/?limit=3&offset=1&srs=4326`);
      assert.equal(pgPage.length, 3);
      assert.deepEqual(pgPage.map((f: any) => [f.id, f.fields]), filePage.map((f: any) => [f.id, f.fields]));
      pgPage.forEach((f: any, i: number) => sameCoordinates(coordinates(f.geom), coordinates(filePage[i].geom), `feature ${f.id}`));
      const [pgOne, fileOne] = await both(`/api/resource/${id}/feature/4?geom=no`);
      assert.deepEqual(pgOne, fileOne);
      const [pgGeojson, fileGeojson] = await both(`/api/resource/${id}/geojson`);
      assert.deepEqual(pgGeojson.features.map((f: any) => [f.id, f.properties]), fileGeojson.features.map((f: any) => [f.id, f.properties]));
      pgGeojson.features.forEach((f: any, i: number) => sameCoordinates(coordinates(f.geometry), coordinates(fileGeojson.features[i].geometry), `exported ${f.id}`));
      for (const [z, x, y] of [[0, 0, 0], [1, 1, 0], [2, 1, 2]]) {
        const path = `/api/resource/${id}/${z}/${x}/${y}.mvt`;
        const [a, b] = await Promise.all([bytesOf(s, path), bytesOf(embedded, path)]);
        assert.deepEqual(insideFeatures(a, `ngw:${id}`), insideFeatures(b, `ngw:${id}`), path);
      }
    });
  }

  it('a feature that is not there is a 404 FEATURE_NOT_FOUND, one past the id column\'s type too; an offset past 2^53 is a 400', async () => {
    for (const fid of [100000, 3_000_000_000]) { // the fid column is an int4
      const missing = await s.json(`/api/resource/2/feature/${fid}`, { headers: bob() });
      assert.deepEqual([missing.status, missing.body.code], [404, 'FEATURE_NOT_FOUND'], String(fid));
    }
    assert.deepEqual((await s.json('/api/resource/2/feature/?offset=10000000000', { headers: bob() })).body, []);
    const far = await s.json('/api/resource/2/feature/?offset=100000000000000000000', { headers: bob() });
    assert.deepEqual([far.status, far.body.code], [400, 'INVALID_PARAMETER']);
  });

  it('a table in UTM finds a feature near a box\'s edge, where the edge bends in UTM (list, identify, tile)', async () => {
    const box = 'POLYGON((10 40,20 40,20 50,10 50,10 40))';
    const listed = await s.json(`/api/resource/25/feature/?srs=4326&geom=no&intersects=${encodeURIComponent(box)}`);
    assert.deepEqual(listed.body.map((f: any) => f.fields.name), ['Near Taranto']);
    // With its geometry too (the query then reads the geometry it tests: one transform to EPSG:4326 in FROM); also under a shape
    // of more vertices than SQL tests (300: read out, tested here), whose notch at 15°E reaches 40°N.
    const wavy = `POLYGON((${wavyRing(15, 45, 5, 6, 300).map((p) => p.join(' ')).join(', ')}))`;
    for (const shape of [box, wavy]) {
      for (const geom of ['yes', 'no']) {
        const read = await s.json(`/api/resource/25/feature/?srs=4326&geom=${geom}&intersects=${encodeURIComponent(shape)}`);
        assert.deepEqual(read.body.map((f: any) => f.fields.name), ['Near Taranto'], `${shape.length} characters, geom=${geom}`);
        if (geom === 'yes') sameCoordinates(coordinates(read.body[0].geom), [15, 40.05], 'Near Taranto');
      }
    }
    const found = await s.json('/api/feature_layer/identify', { method: 'POST', body: JSON.stringify({ srs: 4326, geom: box, layers: [25] }) });
    assert.equal(found.body['25'].featureCount, 1);
    // ST_AsMVT's tile, with no buffer: its lower edge bends 1.6 km south at 15°E in UTM.
    const tile = await s.get('/api/resource/25/6/34/24.mvt?padding=0', { headers: { 'accept-encoding': 'identity' } });
    assert.equal(tile.status, 200);
    const names = decode(new Uint8Array(await tile.arrayBuffer())).layers['ngw:25'];
    assert.deepEqual(Array.from({ length: names.length }, (_, i) => names.feature(i).properties.name).sort(), ['Near Taranto', 'Off Sicily']);
  });

  it('a point asked for on a table in UTM (intersects=, an identify click) finds what is there: its box of no size is not cut', async () => {
    // The site where PostGIS puts it in EPSG:4326 (40.05°N does not come back exactly from UTM). Its box has no edge to cut, which ST_Segmentize refused (a 500).
    const [{ point }] = (await db.query(`SELECT ST_AsText(ST_Transform(geom, 4326), 17) AS point FROM ${SCHEMA}.utm_site WHERE name = 'Near Taranto'`)).rows;
    const list = await s.json(`/api/resource/25/feature/?srs=4326&geom=no&intersects=${encodeURIComponent(point)}`);
    assert.deepEqual([list.status, list.body.map((f: any) => f.fields.name)], [200, ['Near Taranto']], JSON.stringify(list.body));
    const found = await s.json('/api/feature_layer/identify', { method: 'POST', body: JSON.stringify({ srs: 4326, geom: point, layers: [25] }) });
    assert.equal(found.body['25']?.featureCount, 1, JSON.stringify(found.body));
  });

  it('a table in UTM answers every tile and area however far from its zone: PROJ refuses points ~85° from the central meridian', async () => {
    // Boxes reaching that far near the equator failed the whole transform, and the request with it (a 500).
    const holding = new Map<string, string[]>();
    for (const padding of ['', '&padding=0']) {
      for (let z = 0; z <= 4; z++) {
        for (let x = 0; x < 2 ** z; x++) {
          for (let y = 0; y < 2 ** z; y++) {
            const res = await s.get(`/api/component/feature_layer/mvt?resource=25&z=${z}&x=${x}&y=${y}${padding}`, { headers: { 'accept-encoding': 'identity' } });
            assert.ok(res.status === 200 || res.status === 204, `${z}/${x}/${y}${padding}: ${res.status} ${res.status >= 400 ? await res.text() : ''}`);
            if (res.status !== 200) continue;
            const layer = decode(new Uint8Array(await res.arrayBuffer())).layers['ngw:25'];
            holding.set(`${z}/${x}/${y}${padding}`, Array.from({ length: layer.length }, (_, i) => String(layer.feature(i).properties.name)).sort());
          }
        }
      }
    }
    // Both sites lie in one tile per zoom (z4: 8/6, 15°E 36.6–40.05°N), and in no other without padding.
    for (let z = 0; z <= 4; z++) {
      const [x, y] = [8 >> (4 - z), 6 >> (4 - z)];
      assert.deepEqual(holding.get(`${z}/${x}/${y}&padding=0`), ['Near Taranto', 'Off Sicily'], `z${z}`);
    }
    assert.equal([...holding.keys()].filter((k) => k.endsWith('padding=0')).length, 5, [...holding.keys()].join(' '));
    const world = 'POLYGON((-179 -80, 179 -80, 179 80, -179 80, -179 -80))';
    const list = await s.json(`/api/resource/25/feature/?srs=4326&geom=no&intersects=${encodeURIComponent(world)}`);
    assert.deepEqual([list.status, list.body.map((f: any) => f.fields.name)], [200, ['Near Taranto', 'Off Sicily']], JSON.stringify(list.body));
    const found = await s.json('/api/feature_layer/identify', { method: 'POST', body: JSON.stringify({ srs: 4326, geom: world, layers: [25] }) });
    assert.equal(found.body['25']?.featureCount, 2, JSON.stringify(found.body));
    const far = await s.json(`/api/resource/25/feature/?srs=4326&geom=no&intersects=${encodeURIComponent('POLYGON((100 -1, 110 -1, 110 1, 100 1, 100 -1))')}`);
    assert.deepEqual([far.status, far.body], [200, []], 'an area all past the domain has nothing');
    // The whole world, cut as a box is, goes into zones by the antimeridian (kept meridians on both sides of ±180°) and the British grid.
    for (const [srid, lon, lat] of [[32601, -179, 0], [32660, 179, 0], [27700, -2, 50]]) {
      const [{ proj4 }] = (await db.query('SELECT proj4text AS proj4 FROM spatial_ref_sys WHERE srid = $1', [srid])).rows;
      const cut = domainCut(centralMeridian(proj4)!);
      const { rows: [{ holds }] } = await db.query(`SELECT ST_Transform(ST_Segmentize(${cut('ST_MakeEnvelope(-180, -85, 180, 85, 4326)')}, 2), ${srid})
        && ST_Transform(ST_SetSRID(ST_MakePoint(${lon}, ${lat}), 4326), ${srid}) AS holds`);
      assert.equal(holds, true, String(srid));
    }
  });

  it('a table whose geometries carry no SRID is read as EPSG:4326: lists, shapes, extent, tiles; POINT EMPTY as no geometry', async () => {
    // POINT EMPTY comes as a point of NaNs (WKB has no empty point), which no transform took: a list in EPSG:3857 was a 500.
    const listed = await s.json(`/api/resource/${NO_SRID}/feature/`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.map((f: any) => [f.id, f.geom === null]), [[1, true], [2, false], [3, false]]);
    // Tested against a shape (in EPSG:4326), measured, and tiled by ST_AsMVT, geometries without an SRID were refused by PostGIS.
    const near = await s.json(`/api/resource/${NO_SRID}/feature/?srs=4326&intersects=${encodeURIComponent('POLYGON((9 19, 10.5 19, 10.5 20.5, 9 20.5, 9 19))')}`);
    assert.deepEqual([near.status, near.body.map((f: any) => f.fields.name)], [200, ['a']], JSON.stringify(near.body));
    sameCoordinates(coordinates(near.body[0].geom), [10, 20], 'a');
    const found = await s.json('/api/feature_layer/identify', { method: 'POST', body: JSON.stringify({ srs: 4326, geom: 'POLYGON((10.5 20.5, 12 20.5, 12 22, 10.5 22, 10.5 20.5))', layers: [NO_SRID] }) });
    assert.equal(found.body[NO_SRID].featureCount, 1, JSON.stringify(found.body));
    assert.deepEqual((await s.json(`/api/resource/${NO_SRID}/extent`)).body.extent, { minLon: 10, minLat: 20, maxLon: 11, maxLat: 21 });
    const tile = await s.get(`/api/resource/${NO_SRID}/6/33/28.mvt`, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(tile.status, 200);
    const names = decode(new Uint8Array(await tile.arrayBuffer())).layers[`ngw:${NO_SRID}`];
    assert.deepEqual(Array.from({ length: names.length }, (_, i) => names.feature(i).properties.name).sort(), ['a', 'b']);
  });

  it('feature ids of 0 and below are listed and each can be fetched by its id (NGW routes {fid:int})', async () => {
    const listed = await s.json(`/api/resource/${SIGNED_IDS}/feature/`);
    assert.deepEqual(listed.body.map((f: any) => [f.id, f.fields.name]), [[-2, 'minus two'], [0, 'zero'], [5, 'five']], JSON.stringify(listed.body));
    for (const [fid, name] of [[-2, 'minus two'], [0, 'zero'], [5, 'five']]) {
      const one = await s.json(`/api/resource/${SIGNED_IDS}/feature/${fid}`);
      assert.deepEqual([one.status, one.body.id, one.body.fields?.name], [200, fid, name], JSON.stringify(one.body));
    }
    assert.equal((await s.json(`/api/resource/${SIGNED_IDS}/feature/1`)).status, 404);
    const bad = await s.json(`/api/resource/${SIGNED_IDS}/feature/-`);
    assert.deepEqual([bad.status, bad.body.status_code], [400, 400], JSON.stringify(bad.body));
  });

  it('dates outside the years 1–9999 read as null, int8 values past 2^53 exactly: lists, filters, exports and tiles', async () => {
    // A date past a timestamp's range failed every read of the table (to_char casts to timestamp: a 500);
    // a BC date read as the AD one; -2^63 read as -9223372036854776000.
    const listed = await s.json(`/api/resource/${ODD_VALUES}/feature/?geom=no&dt_format=iso`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.map((f: any) => [f.id, f.fields]), [
      [1, { d: null, ts: null, tstz: null, big: '9223372036854775807' }],
      [2, { d: null, ts: null, tstz: null, big: '-9223372036854775808' }],
      [3, { d: null, ts: null, tstz: null, big: '9007199254740993' }],
      [4, { d: '2024-05-01', ts: '2024-05-01T13:45:00', tstz: '2024-05-01T11:45:00', big: 1 }],
    ]);
    const ids = async (query: string) => (await s.json(`/api/resource/${ODD_VALUES}/feature/?geom=no&${query}`)).body.map((f: any) => f.id);
    assert.deepEqual(await ids('fld_d__isnull=yes'), [1, 2, 3]);
    assert.deepEqual(await ids('fld_ts__lt=0100-01-01'), [], '44 BC is no year a DATETIME holds');
    assert.deepEqual(await ids('order_by=-big'), [1, 3, 4, 2]);
    const one = await s.json(`/api/resource/${ODD_VALUES}/feature/1?dt_format=obj`);
    assert.deepEqual([one.status, one.body.fields], [200, { d: null, ts: null, tstz: null, big: '9223372036854775807' }]);
    const csv = await s.get(`/api/resource/${ODD_VALUES}/csv`);
    assert.equal(csv.status, 200);
    assert.match(await csv.text(), /,-9223372036854775808\r\n/);
    for (const path of [`/api/resource/${ODD_VALUES}/6/32/31.mvt`, `/api/resource/${ODD_VALUES}/2/2/1.mvt`]) {
      assert.equal((await s.get(path)).status, 200, path);
    }
  });

  it('a bare geometry column\'s curves and triangles are read as lines and polygons: lists, single features, exports, tiles at every zoom', async () => {
    // wkx reads no curve or triangle, nor does ST_AsMVTGeom: each was a 500, for every list or tile that met one.
    const listed = await s.json(`/api/resource/${UNTYPED}/feature/?srs=4326`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.map((f: any) => [f.id, /^POLYGON\(\(/.test(f.geom)]), [[1, true], [2, true], [3, true]]);
    const curve = coordinates(listed.body[1].geom);
    assert.ok(curve.length > 20, 'the arc is cut into many segments');
    assert.deepEqual((await s.json(`/api/resource/${UNTYPED}/feature/3?srs=4326`)).body.geom, 'POLYGON((7 1,7 3,9 1,7 1))');
    assert.equal((await s.get(`/api/resource/${UNTYPED}/geojson`)).status, 200);
    const near = await s.json(`/api/resource/${UNTYPED}/feature/?geom=no&srs=4326&intersects=${encodeURIComponent('POLYGON((5 -1, 11 -1, 11 5, 5 5, 5 -1))')}`);
    assert.deepEqual(near.body.map((f: any) => f.id), [2, 3]);
    for (const path of [`/api/resource/${UNTYPED}/6/33/31.mvt`, `/api/resource/${UNTYPED}/2/2/1.mvt`]) {
      const tile = await s.get(path, { headers: { 'accept-encoding': 'identity' } });
      assert.equal(tile.status, 200, path);
      const layer = decode(new Uint8Array(await tile.arrayBuffer())).layers[`ngw:${UNTYPED}`];
      const names = Array.from({ length: layer.length }, (_, i) => layer.feature(i).properties.name);
      assert.ok(names.includes('curve') && names.includes('triangle'), `${path}: ${names}`);
    }
  });

  it('a multipolygon\'s empty part is left out of its WKT (lists, single features, CSV)', async () => {
    // wkx wrote it as "()" and a parenthesis too many: MULTIPOLYGON(((0 0,1 0,1 1,0 0)),())), which no WKT reader takes.
    const wkts = ['MULTIPOLYGON(((0 0,1 0,1 1,0 0)))', 'MULTIPOLYGON(((2 2,3 2,3 3,2 2)))'];
    assert.deepEqual((await s.json(`/api/resource/${EMPTY_PARTS}/feature/?srs=4326`)).body.map((f: any) => f.geom), wkts);
    assert.equal((await s.json(`/api/resource/${EMPTY_PARTS}/feature/1?srs=4326`)).body.geom, wkts[0]);
    assert.equal(await (await s.get(`/api/resource/${EMPTY_PARTS}/csv?srs=4326`)).text(), `geom\r\n"${wkts[0]}"\r\n"${wkts[1]}"\r\n`);
  });

  it('a geometry with a point at a pole is far but finite in EPSG:3857, as PostGIS has it (lists, single features, exports), and whole in EPSG:4326', async () => {
    // proj4 takes a pole to NaN in EPSG:3857, and the list answered POINT(NaN NaN), which no WKT reader takes.
    const geoms = async (path: string) => (await s.json(path)).body.map((f: any) => f.geom);
    const [pole, world, point] = await geoms(`/api/resource/${POLES}/feature/`);
    const [, poleY] = coordinates(pole);
    assert.ok(poleY > 1e8, `the pole far north: ${pole}`);
    const [postgisPoleY] = (await db.query(`SELECT ST_Y(ST_Transform('SRID=4326;POINT(0 90)'::geometry, 3857)) AS y`)).rows.map((r) => r.y);
    assert.ok(postgisPoleY > 1e8, `PostGIS too: ${postgisPoleY}`);
    const worldYs = coordinates(world).filter((_, k) => k % 2 === 1);
    assert.deepEqual([Math.min(...worldYs) < -1e8, Math.max(...worldYs) > 1e8, worldYs.every(Number.isFinite)], [true, true, true], world);
    sameCoordinates(coordinates(point), [1113194.9079327357, 1118889.9748579594], 'the point at 10°N 10°E');
    assert.equal((await s.json(`/api/resource/${POLES}/feature/1`)).body.geom, pole);
    assert.deepEqual((await geoms(`/api/resource/${POLES}/feature/?srs=4326`)).map((g: string) => g.split('(')[0]), ['POINT', 'POLYGON', 'POINT']);
    const csv = (await (await s.get(`/api/resource/${POLES}/csv?srs=3857`)).text()).split('\r\n');
    assert.deepEqual(csv.slice(1, 3), [pole, `"${world}"`]);
    const geojson = (await s.json(`/api/resource/${POLES}/geojson?srs=3857`)).body;
    assert.deepEqual(geojson.features.map((f: any) => f.geometry?.type), ['Point', 'Polygon', 'Point']);
  });

  it('intersects= past the poles is a 400 on a table in another srs (PostGIS cannot transform it)', async () => {
    for (const path of ['/api/resource/23/feature/?srs=4326&intersects=POINT(0 95)', '/api/resource/23/geojson?intersects=POLYGON((-10 80,10 80,10 91,-10 91,-10 80))']) {
      const r = await s.json(path.replace(/ /g, '%20'));
      assert.deepEqual([r.status, r.body.code], [400, 'INVALID_PARAMETER'], path);
      assert.match(r.body.message, /outside the area where EPSG:4326 is defined/);
    }
    assert.equal((await s.json('/api/resource/23/feature/?srs=4326&intersects=POINT(0%2085)')).status, 200);
  });

  it('an export refused for its parameters, or left before its first batch came, gives its connection back', async () => {
    // The "small" connection has a pool of its own, of 10 (MERIDIAN_DATABASE_POOL_SIZE): were each
    // of these to keep its connection, the requests after the tenth would wait and fail (503).
    for (const bad of ['geojson?fid=name', 'geojson?zipped=maybe', 'csv?zipped=maybe']) {
      for (let i = 0; i < 4; i++) assert.equal((await s.get(`/api/resource/22/${bad}`)).status, 400, bad);
    }
    for (const format of [...Array(11).fill('geojson'), 'csv', 'geojson?zipped=yes']) {
      await s.get(`/api/resource/22/${format}`, { signal: AbortSignal.timeout(200) }).then((r) => r.body?.cancel(), () => {});
    }
    // Each left export's query is cancelled (see the next test); then its connection is back.
    const reading = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${about('slow')} AND state = 'active' AND pid <> pg_backend_pid()`;
    await until(async () => (await db.query(reading)).rows[0].n === 0, 30_000);
    const res = await s.json('/api/resource/22/feature/1?geom=no');
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('a client that leaves stops its query on the server: tiles (ST_AsMVT and windows), exports, intersects, identify', async () => {
    // A server of its own, with one connection to the database: a query left running, or a
    // connection not given back usable, would hold up every request after it.
    const logged: { level: number; msg: string; status?: number }[] = [];
    const dir = tempData({ catalog: { resources: [{ id: 1, cls: 'postgis_layer', parent: 0, display_name: 'Sleepy',
      connection: 'one', schema: SCHEMA, table: 'sleepy', column_id: 'fid', column_geom: 'geom', fields: 'update' }] } });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ connections: { one: PG_URL } }));
    const one = await startServer({ dataDir: dir, env: { MERIDIAN_CONFIG: join(dir, 'config.json'), MERIDIAN_DATABASE_POOL_SIZE: '1' },
      log: pino({ level: 'info' }, { write: (line: string) => { logged.push(JSON.parse(line)); } }) });
    logged.length = 0; // what starting logged
    const running = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${about('sleepy')} AND state = 'active' AND pid <> pg_backend_pid()`;
    const runs = async () => (await db.query(running)).rows[0].n as number;
    const europe = 'POLYGON((0 40, 30 40, 30 60, 0 60, 0 40))';
    const identify = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ srs: 4326, geom: europe, layers: [1] }) };
    const requests: [string, RequestInit][] = [
      ['/api/resource/1/6/33/21.mvt', {}], // ST_AsMVT
      ['/api/resource/1/3/4/2.mvt', {}], // a window read, cut here
      ['/api/resource/1/geojson', {}],
      ['/api/resource/1/csv', {}],
      ['/api/resource/1/geojson?zipped=yes', {}],
      [`/api/resource/1/feature/?geom=no&srs=4326&intersects=${encodeURIComponent(europe)}`, {}],
      ['/api/feature_layer/identify', identify],
    ];
    /** Asks for `path`, to leave: the request and how to leave it. */
    const asked = (path: string, init: RequestInit = {}) => {
      const leave = new AbortController();
      one.get(path, { ...init, signal: leave.signal }).catch(() => {});
      return leave;
    };
    try {
      await db.query(`UPDATE ${SCHEMA}.pause SET seconds = 30`);
      for (const [path, init] of requests) {
        const client = asked(path, init);
        await until(async () => (await runs()) > 0, 5000);
        assert.equal(await runs(), 1, `${path}: its query runs`);
        const left = Date.now();
        client.abort();
        await until(async () => (await runs()) === 0, 5000);
        assert.equal(await runs(), 0, `${path}: its query stopped when its client left, not after its 30 s`);
        assert.ok(Date.now() - left < 5000);
      }
      // A tile asked while the one connection is busy, and left before it gets it: its query never starts.
      const first = asked('/api/resource/1/6/33/21.mvt');
      await until(async () => (await runs()) > 0, 5000);
      const second = asked('/api/resource/1/6/34/21.mvt');
      await new Promise((r) => setTimeout(r, 300));
      second.abort();
      first.abort();
      await until(async () => (await runs()) === 0, 5000);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(await runs(), 0, 'the tile left while waiting for the connection was not made');
      // The connection came back usable each time: every request answers on it.
      await db.query(`UPDATE ${SCHEMA}.pause SET seconds = 0`);
      for (const [path, init] of requests) {
        const res = await one.get(path, init);
        const body = await res.arrayBuffer();
        assert.equal(res.status, 200, `${path}: ${Buffer.from(body)}`);
        if (path.endsWith('.mvt')) assert.ok(insideFeatures(body, 'ngw:1').length > 3, path);
      }
      await until(() => logged.filter((l) => l.msg === 'request').length === 2 * requests.length + 2);
      const statuses = logged.filter((l) => l.msg === 'request').map((l) => l.status);
      assert.deepEqual(statuses, [...Array(requests.length + 2).fill(499), ...Array(requests.length).fill(200)]);
      assert.deepEqual(logged.filter((l) => l.level >= 40), [], 'nothing logged as a warning or an error');
    } finally {
      await db.query(`UPDATE ${SCHEMA}.pause SET seconds = 0`);
      // A query left running (the change undone) holds its locks: end it, or the schema could not be dropped.
      await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${about('sleepy')} AND pid <> pg_backend_pid()`);
      await one.stop();
    }
  });

  /**
   * Shapes, with what the file store must find in them (layer id → the names or latitudes of the
   * features met) for each to test what it says. A box is tested in SQL; the others have too many
   * vertices for SQL (above 256): candidates are read out and tested by Meridian, on their part in
   * the shape's box unless their geometry is answered. Some touch features on the border of their
   * box, which a cut to the box itself would lose.
   */
  const circle = Array.from({ length: 400 }, (_, i) => `${(15 + 15 * Math.cos((i * Math.PI) / 200)).toFixed(3)} ${(50 + 10 * Math.sin((i * Math.PI) / 200)).toFixed(3)}`);
  const wktRing = (ring: number[][]) => `(${ring.map((p) => p.join(' ')).join(', ')})`;
  /** A 300-vertex wavy ring whose vertex at `angle` (a multiple of π/2) is moved out to `apex`, which it alone reaches. */
  const spiked = (cx: number, cy: number, rx: number, ry: number, angle: number, apex: number[]) => {
    const ring = wavyRing(cx, cy, rx, ry, 300);
    ring[(300 * angle) / (2 * Math.PI)] = apex;
    return `POLYGON(${wktRing(ring)})`;
  };
  const brazil = JSON.parse(readFileSync(join(SAMPLE_DATA, 'countries110.geojson'), 'utf8')).features.find((f: any) => f.properties.name === 'Brazil');
  const brazilEast = (brazil.geometry.coordinates[0] as number[][]).reduce((a, b) => (b[0] > a[0] ? b : a));
  const SHAPES: Record<string, { wkt: string; finds: Record<number, (string | number)[] | ((met: (string | number)[]) => boolean)> }> = {
    'box over Europe': { wkt: 'POLYGON((0 40, 30 40, 30 60, 0 60, 0 40))', finds: { 2: (met) => met.length >= 10 } },
    'circle over Europe': { wkt: `POLYGON((${[...circle, circle[0]].join(', ')}))`, finds: { 2: (met) => met.length >= 10, 6: [60] } },
    // Its westmost vertex is Brazil's eastmost, the only point they share.
    'out at sea, touching Brazil at a point on its box\'s border': {
      wkt: spiked(brazilEast[0] + 3.6, brazilEast[1], 3, 2, Math.PI, brazilEast), finds: { 2: ['Brazil'], 6: [] } },
    // Its top vertex lies on the 60° parallel between two of its vertices; the parallel runs along its box's border.
    'touching the 60° parallel at a point on its box\'s border': { wkt: spiked(12, 55.2, 6, 4, Math.PI / 2, [12, 60]), finds: { 6: [60] } },
    // The 30° parallel crosses its box between the two.
    'two polygons, a parallel crossing their box between them': {
      wkt: `MULTIPOLYGON((${wktRing(wavyRing(0, 35, 3, 2, 150))}), (${wktRing(wavyRing(20, 25, 3, 2, 150))}))`, finds: { 6: [] } },
    'inside Brazil, much smaller than it': { wkt: `POLYGON(${wktRing(wavyRing(-55, -10, 0.75, 0.5, 300))})`, finds: { 2: ['Brazil'], 6: [] } },
    // In Canada's box, not in Canada.
    'in Hudson Bay': { wkt: `POLYGON(${wktRing(wavyRing(-85, 60, 1.5, 1, 300))})`, finds: { 2: [], 6: [60] } },
  };
  /** What names a feature of a layer in SHAPES' `finds`. */
  const named = (f: any) => f.fields.name ?? f.fields.lat;

  for (const [kind, { wkt, finds }] of Object.entries(SHAPES)) {
    it(`intersects selects the same features as the file store, with and without geometry (${kind})`, async () => {
      for (const id of [2, 6, 9, 11]) {
        const path = `/api/resource/${id}/feature/?srs=4326&intersects=${encodeURIComponent(wkt)}`;
        const [pgHits, fileHits] = await both(path);
        const expected = finds[id];
        if (typeof expected === 'function') assert.ok(expected(fileHits.map(named)), `${id}: ${fileHits.map(named)}`);
        else if (expected) assert.deepEqual(fileHits.map(named), expected, `layer ${id}`);
        assert.deepEqual(pgHits.map((f: any) => [f.id, f.fields]), fileHits.map((f: any) => [f.id, f.fields]), `layer ${id}`);
        pgHits.forEach((f: any, i: number) => sameCoordinates(coordinates(f.geom), coordinates(fileHits[i].geom), `layer ${id}, feature ${f.id} whole`));
        const [pgBare, fileBare] = await both(`${path}&geom=no`);
        assert.deepEqual(pgBare, fileBare, `layer ${id}, geom=no`);
      }
    });

    it(`identify finds the same features as the file store (${kind})`, async () => {
      const body = JSON.stringify({ srs: 4326, geom: wkt, layers: [2, 6, 9, 11] });
      const init = { method: 'POST', body, headers: { 'content-type': 'application/json' } };
      const [a, b] = await Promise.all([
        s.json('/api/feature_layer/identify', { ...init, headers: { ...init.headers, ...bob() } }), embedded.json('/api/feature_layer/identify', init)]);
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.ok(b.body.featureCount > 0);
      assert.deepEqual(a.body, b.body);
    });
  }

  it('geometry crosses the wire only where it is used: none for identify, the part in the box for a shape tested here', async () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    const bytesRead = countBytesRead(pool);
    try {
      const layer = await PostgisLayer.open(pool, 'countries', { schema: SCHEMA, table: 'countries', columnId: 'fid', columnGeom: 'geom' });
      const sizes = async (name: string) => (await db.query<{ fid: number; bytes: number }>(
        `SELECT fid, octet_length(ST_AsBinary(geom)) AS bytes FROM ${SCHEMA}.countries WHERE name = $1`, [name])).rows[0];
      const russia = await sizes('Russia'), canada = await sizes('Canada');
      /** What `search` found, and the bytes it read from the database. */
      const measured = async (search: () => Promise<Feature[]>) => {
        const before = bytesRead();
        const found = await search();
        return { fids: found.map((f) => f.fid), bytes: bytesRead() - before };
      };
      /** The features an export with intersects= reads. */
      const exportRead = (shape: Polygon) => measured(async () => {
        const out: Feature[] = [];
        for await (const f of layer.features({ area: new PreparedArea(shape) })) out.push(f);
        return out;
      });
      // In Siberia: a box (tested in SQL) and a drawn shape (tested here); Russia is the one country met.
      const siberia: Polygon = { type: 'Polygon', coordinates: [wavyRing(100, 62, 1.5, 1, 300)] };
      const siberianBox: Polygon = { type: 'Polygon', coordinates: [[[98, 61], [102, 61], [102, 63], [98, 63], [98, 61]]] };
      for (const shape of [siberia, siberianBox]) {
        const identified = await measured(async () => (await identifyLayer(layer, new PreparedArea(shape), 100)).features);
        assert.deepEqual(identified.fids, [russia.fid]);
        assert.ok(identified.bytes < russia.bytes / 4, `identify read ${identified.bytes} bytes, Russia's outline is ${russia.bytes}`);
      }
      // An export (geometry answered) reads Russia whole.
      const exported = await exportRead(siberia);
      assert.deepEqual(exported.fids, [russia.fid]);
      assert.ok(exported.bytes > russia.bytes, `${exported.bytes} bytes`);
      // In Hudson Bay, inside Canada's box: Canada is not read at all.
      const bay = await exportRead({ type: 'Polygon', coordinates: [wavyRing(-85, 60, 1.5, 1, 300)] });
      assert.deepEqual(bay.fids, []);
      assert.ok(bay.bytes < canada.bytes / 4, `read ${bay.bytes} bytes, Canada's outline is ${canada.bytes}`);
    } finally {
      await pool.end();
    }
  });

  it('a shape too big for SQL is tested here in slices: other requests get turns while a batch of big candidates is tested', async () => {
    // 600 discs of 3,000 vertices, and a wavy ring of 1,000 vertices crossing many of them (tested at once: ~0.6–1.2 s).
    await db.query(`CREATE TABLE ${SCHEMA}.discs AS SELECT k AS fid, ST_Buffer(ST_SetSRID(ST_MakePoint(k % 20, k / 20), 4326), 0.45, 750)::geometry(Polygon, 4326) AS geom
      FROM generate_series(0, 599) k; CREATE INDEX ON ${SCHEMA}.discs USING gist (geom)`);
    const shape: Polygon = { type: 'Polygon', coordinates: [wavyRing(9.5, 14.5, 8, 12, 999)] };
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    try {
      const layer = await PostgisLayer.open(pool, 'discs', { schema: SCHEMA, table: 'discs', columnId: 'fid', columnGeom: 'geom' });
      const { result, stallMs } = await watchLoop(() => identifyLayer(layer, new PreparedArea(shape), 1000));
      const expected = (await db.query<{ fid: number }>(`SELECT fid FROM ${SCHEMA}.discs WHERE ST_Intersects(geom, ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)) ORDER BY fid`,
        [JSON.stringify(shape)])).rows.map((r) => r.fid);
      assert.ok(expected.length > 100 && expected.length < 500, `a test that can fail: ${expected.length} of 600 discs met`);
      assert.deepEqual(result.features.map((f) => f.fid), expected);
      assert.ok(stallMs < 400, `the event loop stalled for ${Math.round(stallMs)} ms`);
    } finally {
      await pool.end();
    }
  });

  it('attribute filters, order_by and paging list the features the file store lists, in its order', async () => {
    for (const query of ['fld_band__ge=3&order_by=-name&limit=7&offset=3', 'fld_name__ilike=s%25&order_by=band,-name', 'order_by=-band,code&limit=30',
      'fld_code__isnull=no&fld_band__in=1,2&offset=10', 'id__in=3,5,44&fields=name', 'fld_name__like=%25a%25&order_by=code&limit=5', 'order_by=name&limit=9007199254740991&offset=2']) {
      const [fromPg, fromFile] = await both(`/api/resource/2/feature/?geom=no&${query}`);
      assert.deepEqual(fromPg, fromFile, query);
      assert.ok(fromPg.length > 0, query);
    }
  });

  it('every operator and the whole-layer search select the features the file store selects: nulls, escapes, case, code points, dates, numbers', async () => {
    const e = encodeURIComponent;
    const queries = [
      'fld_name__ne=100%25', 'fld_name__notin=axb,a_b', `fld_name__like=${e('100\\%')}`, 'fld_name__like=a_b', `fld_name__like=${e('a\\_b')}`,
      `fld_name__like=${e('back\\\\slash')}`, `fld_name__like=${e('%s\\')}`, `fld_name__ilike=${e('%οσ')}`, 'fld_name__ilike=istanbul',
      `fld_name__ilike=${e('école')}`, 'fld_name__gt=z&order_by=name', 'order_by=-name', 'fld_name=', 'fld_name__isnull=yes',
      'fld_day__ge=2024-01-01', 'fld_stamp__lt=2024-05-01T13:45:01', 'fld_stamp__gt=2024-05-01', 'fld_starts__gt=09:00', 'fld_day__in=2024-05-01,2023-12-31',
      'fld_day__notin=2024-05-01&order_by=day', 'fld_n__ne=1', 'fld_n__in=1,42', 'fld_n__gt=1.5', 'fld_n__lt=99999999999999999999', 'fld_n__notin=1.5',
      'fld_r__le=0.1', 'fld_r__ge=1e20', 'fld_r__isnull=yes', 'id__notin=1,2&order_by=-r', 'id__gt=2.5&limit=2&offset=1&order_by=starts',
      'like=', 'like=100', `like=${e('e+20')}`, 'like=e-05', `ilike=${e('οσ')}`, 'like=2024-05', 'like=T13', `like=${e('a\\_b')}`, `ilike=${e('É')}`,
      'like=-3', 'like=x&ilike=ΟΔ', `ilike=${e('ａＢ')}`,
    ];
    for (const query of queries) {
      const [fromPg, fromFile] = await both(`/api/resource/${FILTERS}/feature/?geom=no&${query}`);
      assert.deepEqual(fromPg, fromFile, query);
      assert.ok(fromPg.length > 0, `${query} lists something`);
    }
    const ids = async (query: string) => (await both(`/api/resource/${FILTERS}/feature/?geom=no&${query}`))[0].map((f: { id: number }) => f.id);
    const otherSettings = async (query: string) => {
      const { status, body } = await s.json(`/api/resource/${FILTERS_OTHER_SETTINGS}/feature/?geom=no&${query}`, { headers: bob() });
      assert.equal(status, 200, `${query}: ${JSON.stringify(body)}`);
      assert.deepEqual(body, (await both(`/api/resource/${FILTERS}/feature/?geom=no&${query}`))[0], `${query}, with other session settings`);
      return body.map((f: { id: number; fields: { day: unknown; r: unknown } }) => ({ id: f.id, day: f.fields.day, r: f.fields.r }));
    };
    assert.deepEqual(await otherSettings('fld_day__lt=2024-01-01'), [{ id: 2, day: { year: 2023, month: 12, day: 31 }, r: 1e20 }], 'a DateStyle other than ISO');
    assert.deepEqual(await otherSettings('like=000000000004'), [{ id: 5, day: null, r: 0.30000000000000004 }], 'a double read and searched to its last digit');
    await otherSettings('limit=100');
    assert.deepEqual(await ids('fld_name__ne=100%25&fld_n__ge=7'), [3], 'the null name is not "not 100%"');
    assert.deepEqual(await ids(`fld_name__like=${e('a\\_b')}`), [3], 'an escaped _ is itself');
    assert.deepEqual(await ids(`fld_name__ilike=${e('%οσ')}`), [6], 'ΟΔΟΣ folds to οδοσ, its last Σ as any other');
    assert.deepEqual(await ids('like=x&ilike=ΟΔ'), [4], 'like wins over ilike, as in NGW');
    assert.deepEqual(await ids('fld_name__gt=z&order_by=name'), [8, 7, 6, 10, 11], 'Ａ (U+FF21) before 😀 (U+1F600): code points, not UTF-16 units');
    assert.deepEqual(await ids('fld_name=&like=3'), [12], 'an empty text is a value, and a number is searched as text');
  });

  it('NaN, infinities and numerics past a double\'s range read as the list shows them: nulls no comparison passes, isnull does, sorted as nulls; 0', async () => {
    const listed = async (query: string) => {
      const { status, body } = await s.json(`/api/resource/${NONFINITE}/feature/?geom=no&${query}`, { headers: bob() });
      assert.equal(status, 200, `${query}: ${JSON.stringify(body)}`);
      return (body as { id: number; fields: Record<string, unknown> }[]).map((f) => [f.id, f.fields.r, f.fields.d]);
    };
    // A numeric past a double's range failed the cast to float8, and every read of the table with it (a 500).
    assert.deepEqual(await listed(''), [[1, null, null], [2, null, null], [3, null, null], [4, 1, 1], [5, null, null], [6, null, null], [7, null, null], [8, 0, 0]]);
    const ids = async (query: string) => (await listed(query)).map(([id]) => id);
    for (const field of ['r', 'd']) {
      assert.deepEqual(await ids(`fld_${field}__isnull=yes`), [1, 2, 3, 5, 6, 7], field);
      assert.deepEqual(await ids(`fld_${field}__gt=0`), [4], field);
      assert.deepEqual(await ids(`fld_${field}__lt=1e308`), [4, 8], field);
      assert.deepEqual(await ids(`fld_${field}__ne=1`), [8], field);
      assert.deepEqual(await ids(`fld_${field}__notin=2`), [4, 8], field);
      // 1e400 reads as Infinity: no value shown equals it, every finite one is below it.
      assert.deepEqual(await ids(`fld_${field}=1e400`), [], field);
      assert.deepEqual(await ids(`fld_${field}__in=1,1e400`), [4], field);
      assert.deepEqual(await ids(`fld_${field}__le=1e400`), [4, 8], field);
      assert.deepEqual(await ids(`fld_${field}__gt=-1e400`), [4, 8], field);
      assert.deepEqual(await ids(`order_by=-${field}`), [1, 2, 3, 5, 6, 7, 4, 8], `${field}: nulls first descending, by fid`);
    }
    const one = await s.json(`/api/resource/${NONFINITE}/feature/6`, { headers: bob() });
    assert.deepEqual([one.status, one.body.fields], [200, { r: null, d: null }]);
    const tile = await s.get(`/api/resource/${NONFINITE}/6/32/31.mvt`, { headers: bob() });
    assert.equal(tile.status, 200, 'ST_AsMVT reads the values so too');
    assert.deepEqual(await ids('like=N'), [], 'no value shown holds an N');
    assert.deepEqual(await ids('like=Inf'), []);
  });

  it('a filter is applied by PostgreSQL: a list reads out the rows it answers, not the table', async () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    const bytesRead = countBytesRead(pool);
    try {
      const layer = await PostgisLayer.open(pool, 'many', { schema: SCHEMA, table: 'many', columnId: 'fid', columnGeom: 'geom' });
      /** The fids a list finds, and the bytes it read from the database. */
      const measured = async (query: Parameters<typeof layer.features>[0]) => {
        const before = bytesRead();
        const fids: number[] = [];
        for await (const f of layer.features(query)) fids.push(f.fid);
        return { fids, bytes: bytesRead() - before };
      };
      const all = await measured({ geometry: false });
      assert.equal(all.fids.length, 20_000);
      const one = await measured({ geometry: false, filter: [{ field: 'name', op: 'eq', value: 'n12345' }] });
      assert.deepEqual(one.fids, [12345]);
      const page = await measured({ geometry: false, filter: [{ field: 'band', op: 'eq', value: 3 }, { op: 'search', pattern: '%n1%', caseless: false }], offset: 2, limit: 5 });
      assert.deepEqual(page.fids, [113, 123, 133, 143, 153]);
      for (const [what, read] of [['one', one], ['a page', page]] as const) {
        assert.ok(read.bytes < all.bytes / 100, `${what} read ${read.bytes} bytes, the table is ${all.bytes}`);
      }
    } finally {
      await pool.end();
    }
  });

  it('a filter on a float column is answered from an index on the column (its value is read through a CASE)', async () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    try {
      const address = { schema: SCHEMA, table: 'many', columnId: 'fid', columnGeom: 'geom' };
      const columns = { ...await describeTable(pool, address), fidColumn: '"fid"' };
      const layer = await PostgisLayer.open(pool, 'many', address);
      const cases: [FilterTerm, number[]][] = [
        [{ field: 'ratio', op: 'gt', value: 4999 }, [19997, 19998, 19999, 20000]],
        [{ field: 'ratio', op: 'le', value: 0.5 }, [1, 2]],
        [{ field: 'ratio', op: 'eq', value: 12.25 }, [49]],
        [{ field: 'ratio', op: 'in', values: [0.75, 2500] }, [3, 10000]],
      ];
      for (const [term, fids] of cases) {
        const params: unknown[] = [];
        const [where] = filterSql([term], columns, params);
        const { rows: [plan] } = await pool.query(`EXPLAIN (FORMAT JSON) SELECT fid FROM ${SCHEMA}.many WHERE ${where}`, params);
        assert.match(JSON.stringify(plan), /"Index Name":"many_ratio"/, `${JSON.stringify(term)}: ${JSON.stringify(plan)}`);
        const found: number[] = [];
        for await (const f of layer.features({ geometry: false, filter: [term] })) found.push(f.fid);
        assert.deepEqual(found, fids, JSON.stringify(term));
      }
    } finally {
      await pool.end();
    }
  });

  it('GeoJSON and CSV exports stream every feature, as the file store writes them', async () => {
    const get = async (server: TestServer, path: string, headers: Record<string, string> = {}) => {
      const res = await server.get(path, { headers });
      assert.equal(res.status, 200, path);
      return res.text();
    };
    const [pgGeojson, fileGeojson] = await Promise.all([get(s, '/api/resource/9/geojson', bob()), get(embedded, '/api/resource/9/geojson')]);
    assert.deepEqual(JSON.parse(pgGeojson), JSON.parse(fileGeojson));
    const [pgCsv, fileCsv] = await Promise.all([get(s, '/api/resource/2/csv?fields=name,band', bob()), get(embedded, '/api/resource/2/csv?fields=name,band')]);
    const rows = (csv: string) => csv.trim().split('\r\n');
    assert.equal(rows(pgCsv).length, 178);
    assert.equal(rows(pgCsv)[0], 'geom,name,band');
    // Names and bands column by column (geometry text may differ in its last digits).
    const tail = (csv: string) => rows(csv).map((r) => r.slice(r.lastIndexOf(')') + 1));
    assert.deepEqual(tail(pgCsv), tail(fileCsv));
  });

  it('users in the shared database: a keyname asked for by several requests at once is created once, the others get 409', async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => send(s, 'POST', '/api/component/auth/user/', { keyname: 'pgtwin', password: 'twin-password' })));
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 409, 409, 409], JSON.stringify(answers.map((r) => r.body)));
    for (const r of answers.filter((a) => a.status === 409)) assert.equal(r.body.code, 'KEYNAME_TAKEN');
  });

  it('the catalog ACL applies: Places data needs a login, also for PostGIS layers', async () => {
    assert.equal((await s.get('/api/resource/9/feature_count')).status, 401);
    assert.equal((await s.get('/api/resource/9/geojson')).status, 401);
    assert.equal((await s.get('/api/resource/2/feature_count')).status, 200);
  });

  it(`MVT of PostGIS layers below z${SQL_MVT_MIN_ZOOM} (cut here): tiles decode to the same features as the file store makes`, async () => {
    // World, a European tile, and sites points on both sides of the antimeridian.
    const tiles = [[2, 0, 0, 0], [2, 3, 4, 2], [9, 2, 2, 1], [9, 3, 7, 3], [9, 3, 0, 3]];
    let seen = 0;
    for (const [id, z, x, y] of tiles) {
      const path = `/api/resource/${id}/${z}/${x}/${y}.mvt`;
      const [a, b] = await Promise.all([bytesOf(s, path), bytesOf(embedded, path)]);
      const [pgFeatures, fileFeatures] = [insideFeatures(a, `ngw:${id}`), insideFeatures(b, `ngw:${id}`)];
      assert.deepEqual(pgFeatures, fileFeatures, path);
      seen += pgFeatures.length;
    }
    assert.ok(seen > 50, `${seen} features in the compared tiles`);
    const empty = await s.get('/api/resource/9/5/0/0.mvt', { headers: bob() });
    assert.ok(empty.status === 204, 'no sites in the Arctic');
    // A few sites, cut on the main thread either way: from the database (a query per tile) the tile
    // is stored, from the file store (microseconds) it is not.
    const sites = { format: 'mvt' as const, resources: [9], z: 3, x: 7, y: 3 };
    await until(() => s.services.tileStore.has(sites));
    assert.equal(s.services.tileStore.has(sites), true, 'a tile cut from a database window is stored');
    assert.equal(embedded.services.tileStore.has(sites), false, 'a tile cut on the main thread from memory is not');
  });

  it(`MVT of PostGIS layers from z${SQL_MVT_MIN_ZOOM} (ST_AsMVT): the same features, values and places as the file store's`, async () => {
    /** Per feature: id, properties, and the box of its vertices inside the tile (simplification differs a little; none inside: infinite). */
    const outline = (bytes: ArrayBuffer, layer: string) => insideFeatures(bytes, layer).map(({ id, properties, inside }) => ({
      id, properties, box: [Math.min(...inside.map((p) => p.x)), Math.min(...inside.map((p) => p.y)), Math.max(...inside.map((p) => p.x)), Math.max(...inside.map((p) => p.y))],
    }));
    let seen = 0;
    for (const [id, z, x, y] of [[2, 6, 33, 21], [2, 7, 68, 43], [9, 6, 33, 24], [11, 6, 32, 22]]) {
      const path = `/api/resource/${id}/${z}/${x}/${y}.mvt`;
      const [a, b] = await Promise.all([bytesOf(s, path), bytesOf(embedded, path)]);
      const [pgFeatures, fileFeatures] = [outline(a, `ngw:${id}`), outline(b, `ngw:${id}`)];
      assert.deepEqual(pgFeatures.map((f) => [f.id, f.properties]), fileFeatures.map((f) => [f.id, f.properties]), path);
      pgFeatures.forEach((f, i) => f.box.forEach((v, k) => assert.ok(v === fileFeatures[i].box[k] || Math.abs(v - fileFeatures[i].box[k]) <= 16, `${path} feature ${f.id}: ${f.box} ~ ${fileFeatures[i].box}`)));
      seen += pgFeatures.length;
    }
    assert.ok(seen >= 8, `${seen} features in the compared tiles`);
    // Two layers in one tile keep the order asked for, whoever makes each.
    const both = await bytesOf(s, `/api/component/feature_layer/mvt?resource=9,2&z=6&x=33&y=24`);
    assert.deepEqual(Object.keys(decode(new Uint8Array(both)).layers), ['ngw:9', 'ngw:2']);
    assert.equal((await s.get('/api/resource/9/9/0/0.mvt', { headers: bob() })).status, 204, 'no sites in the Arctic');
    // What PostGIS made is stored.
    const made = { format: 'mvt' as const, resources: [2], z: 6, x: 33, y: 21 };
    await until(() => s.services.tileStore.has(made));
    assert.equal(s.services.tileStore.has(made), true);
  });

  it('render of PostGIS layers: the same pixels as the file store draws', async () => {
    for (const path of ['/api/component/render/tile?z=2&x=2&y=1&resource=3', '/api/component/render/tile?z=3&x=4&y=2&resource=3,10']) {
      const [a, b] = await Promise.all([bytesOf(s, path), bytesOf(embedded, path)]);
      const [pgPixels, filePixels] = await Promise.all([rgbaOf(Buffer.from(a)), rgbaOf(Buffer.from(b))]);
      const agree = agreement(pgPixels, filePixels);
      assert.ok(agree.referenceCovered > 1000, `${path}: the file store draws something`);
      assert.ok(agree.coverage > 0.999 && agree.colourError < 1, `${path}: ${describeAgreement(agree)}`);
    }
  });

  it('a database that is down answers 503 DATABASE_UNAVAILABLE while other layers keep serving', async () => {
    const { status, body } = await s.json('/api/resource/20/feature_count');
    assert.equal(status, 503);
    assert.equal(body.code, 'DATABASE_UNAVAILABLE');
    assert.equal((await s.json('/api/resource/20')).body.postgis_layer.status, 'error');
    assert.equal((await s.get('/api/resource/2/feature_count')).status, 200);
    assert.equal((await s.get('/api/resource/6/feature_count')).status, 200);
  });

  it('an export whose connection is lost mid-stream is cut short, zipped or not, and the process goes on', async () => {
    let crashed: unknown;
    const crash = (err: unknown) => { crashed = err; };
    process.on('uncaughtException', crash);
    try {
      for (const zipped of ['yes', 'no']) {
        const res = await s.get(`/api/resource/24/geojson?zipped=${zipped}`);
        assert.equal(res.status, 200, 'answered once the first batch came');
        const reader = res.body!.getReader();
        await reader.read();
        await until(async () => ((await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE ${about('many_slow')} AND pid <> pg_backend_pid()`)).rowCount ?? 0) > 0);
        const ending = (async () => { for (;;) if ((await reader.read()).done) return 'ended as if whole'; })();
        assert.equal(await ending.catch(() => 'cut short'), 'cut short', `zipped=${zipped}`);
      }
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(crashed, undefined);
      assert.equal((await s.json('/api/resource/24/feature/101?geom=no')).status, 200, 'the layer serves again');
    } finally {
      process.off('uncaughtException', crash);
    }
  });

  it('a connection lost mid-transaction fails it with a 503 and does not crash the process', async () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    pool.on('error', () => {});
    let crashed: unknown;
    const crash = (err: unknown) => { crashed = err; };
    process.once('uncaughtException', crash);
    try {
      const running = inTransaction(pool, 'the test database', async (tx) => {
        await tx.query(`SET application_name = 'meridian-lost-tx'`);
        await tx.query('SELECT pg_sleep(10)');
      });
      const rejected = assert.rejects(running, (e: any) => e.status === 503 && e.code === 'DATABASE_UNAVAILABLE');
      // The server ends that connection, as a restart or a network cut would.
      for (let killed = 0; !killed;) {
        await new Promise((r) => setTimeout(r, 50));
        killed = (await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'meridian-lost-tx'`)).rowCount ?? 0;
      }
      await rejected;
      await new Promise((r) => setImmediate(r));
      assert.equal(crashed, undefined);
      assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1, 'the pool opens a new connection');
    } finally {
      process.off('uncaughtException', crash);
      await pool.end();
    }
  });

  it('a cancel sent as its query ends reaches the server before the connection serves the next query', async () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    try {
      const leave = new AbortController();
      // The client leaves once the answer is in, before the connection is put back.
      const one = await leased(pool, 'the test database', leave.signal, async (client) => {
        const r = await client.query('SELECT 1 AS one');
        leave.abort();
        return r.rows[0].one;
      });
      assert.equal(one, 1, 'a query that ended before its client left keeps its answer');
      // The same connection: the cancel, had it come later, would stop this.
      const next = await pool.query(`SELECT pg_sleep(0.3), 'done' AS done`);
      assert.equal(next.rows[0].done, 'done');
    } finally {
      await pool.end();
    }
  });

  it('a request that leaves while waiting for a connection stops waiting at once; the connection handed to it later goes straight back', async () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    const what = 'the test database';
    const gone = new Error('client gone');
    try {
      // Left while the pool opens its connection: that connection, when it comes, goes back idle.
      const leaving = new AbortController();
      const opening = Lease.take(pool, what, leaving.signal);
      leaving.abort(gone);
      await assert.rejects(opening, (e) => e === gone);
      await until(() => pool.idleCount === 1);
      assert.deepEqual([pool.totalCount, pool.idleCount], [1, 1], 'the connection opened for it is back in the pool');

      // The pool's one connection held by a slow query; a second request waits for it, and leaves.
      const slow = new AbortController();
      let slowEnded = false;
      const holding = leased(pool, what, slow.signal, (client) => client.query('SELECT pg_sleep(30)')).finally(() => { slowEnded = true; });
      const held = assert.rejects(holding, (e) => e === gone);
      await until(() => pool.idleCount === 0);
      const left = new AbortController();
      const second = Lease.take(pool, what, left.signal);
      await until(() => pool.waitingCount === 1);
      assert.equal(pool.waitingCount, 1, 'the second request waits');
      left.abort(gone);
      await assert.rejects(second, (e) => e === gone);
      assert.equal(slowEnded, false, 'it stopped waiting while the connection was still busy');
      // pg keeps its place in the queue (it has no way to take it out) until a connection frees.
      const third = Lease.take(pool, what);
      slow.abort(gone);
      await held;
      const lease = await third;
      assert.equal(pool.waitingCount, 0);
      assert.equal((await lease.client.query('SELECT 1 AS one')).rows[0].one, 1, 'the third request has the connection');
      await lease.release();
      assert.deepEqual([pool.totalCount, pool.idleCount], [1, 1], 'no connection kept, none opened besides');
    } finally {
      await pool.end();
    }
  });

  it('a database that goes away mid-run answers 503 and serves again once it is back', async () => {
    const count = () => s.json('/api/resource/21/feature_count');
    assert.equal((await count()).status, 200);
    await relay.cut();
    for (const path of ['/api/resource/21/feature_count', '/api/resource/21/feature/3', '/api/resource/21/geojson']) {
      const r = await s.json(path);
      assert.equal(r.status, 503, path);
      assert.equal(r.body.code, 'DATABASE_UNAVAILABLE', path);
    }
    assert.equal((await s.get('/api/resource/2/feature_count')).status, 200, 'the default connection is unaffected');
    await relay.open();
    const back = await count();
    assert.equal(back.status, 200);
    assert.ok(back.body.total_count > 100);
  });
});
