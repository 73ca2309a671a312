// QGIS projects whose layers are PostGIS tables, served like file-backed ones: world110.qgs with its
// countries110 layer pointed at a PostGIS copy of the same countries (a postgres datasource as QGIS
// writes it), compared through HTTP with the file-backed project: MVT, renders, identify, the cache
// API; the key column and subset filter; a wrong table; a database that goes away and comes back.
// Needs MERIDIAN_TEST_PG_URL (scripts/pg-test-server.sh); skipped without it.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ADMIN, AUTH_ENV } from './helpers/auth.js';
import { agreement, describeAgreement, rgbaOf } from './helpers/images.js';
import { decode, insideFeatures } from './helpers/mvt.js';
import { copyLayer, dropSchema, freshSchema, PG_SKIP, PG_URL, viaPort } from './helpers/pg.js';
import { postgresDatasource, tempProjectsRoot, worldWith } from './helpers/qgis.js';
import { Relay } from './helpers/relay.js';
import { SAMPLE_DATA, startServer, tempData, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';
import { SQL_MVT_MIN_ZOOM } from '../src/tiling/mvt-tiles.js';

const SCHEMA = `meridian_qgispg_${process.pid}`;
const sample = JSON.parse(readFileSync(join(SAMPLE_DATA, 'catalog.json'), 'utf8'));
/** The catalog's countries: the same file (countries110.geojson) as the project's countries110 layer. */
const COUNTRIES = 2;

/** Resource ids of the projects: the file-backed one, and variants whose countries110 layer is a PostGIS table. */
const FILE = 50, PG = 51, SUBSET = 52, WRONG = 53, RELAYED = 54, TEXT_KEY = 55, LATE = 56, TWO_KEYS = 57, TWO_STATEMENTS = 58;
const project = (id: number, name: string) => ({ id, cls: 'qgis_project', parent: 0, display_name: name, project: `projects/${name}` });

const R = 6378137;
const mx = (lon: number) => lon * Math.PI / 180 * R;
const my = (lat: number) => Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360)) * R;

describe('PostGIS layers of QGIS projects: tiles, renders and identify', { skip: PG_SKIP }, () => {
  let db: pg.Client;
  let root: string;
  let s: TestServer;
  let relay: Relay;

  before(async () => {
    db = await freshSchema(SCHEMA);
    relay = new Relay(new URL(PG_URL!));
    await relay.open();
    root = tempProjectsRoot();
    const url = new URL(PG_URL!);
    const countries = (options: Parameters<typeof postgresDatasource>[3] = {}, table = 'countries', at = url) =>
      worldWith('countries110', 'postgres', postgresDatasource(at, SCHEMA, table, { type: 'MultiPolygon', ...options }));
    writeFileSync(join(root, 'projects/pg.qgs'), countries());
    // No key='…' (the primary key is taken), and a subset filter as QGIS's query builder writes it.
    writeFileSync(join(root, 'projects/pg_subset.qgs'), countries({ key: null, sql: '"band" = 1' }));
    writeFileSync(join(root, 'projects/pg_wrong.qgs'), countries({}, 'no_such_table'));
    const relayed = countries({}, 'countries', new URL(viaPort(PG_URL!, relay.port)));
    writeFileSync(join(root, 'projects/pg_relayed.qgs'), relayed);
    writeFileSync(join(root, 'projects/pg_late.qgs'), relayed); // first read while the database is away
    writeFileSync(join(root, 'projects/pg_text_key.qgs'), countries({ key: 'name' }));
    writeFileSync(join(root, 'projects/pg_two_keys.qgs'), countries({ key: '"fid","band"' }));
    writeFileSync(join(root, 'projects/pg_two_statements.qgs'), countries({ sql: `"band" = 1); DROP TABLE ${SCHEMA}.countries; SELECT (1` }));
    const catalog = {
      resources: [...sample.resources, project(FILE, 'world110'), project(PG, 'pg'), project(SUBSET, 'pg_subset'),
        project(WRONG, 'pg_wrong'), project(RELAYED, 'pg_relayed'), project(TEXT_KEY, 'pg_text_key'), project(LATE, 'pg_late'),
        project(TWO_KEYS, 'pg_two_keys'), project(TWO_STATEMENTS, 'pg_two_statements')],
    };
    s = await startServer({ dataDir: tempData({ copySample: true, catalog }), env: { ...AUTH_ENV, MERIDIAN_PROJECTS: root, MERIDIAN_PROJECT_CHECK_INTERVAL: '0' } });
    // The projects are read on first use, so after the table exists.
    await copyLayer(db, s, COUNTRIES, SCHEMA, 'countries');
  });
  after(async () => {
    await s?.stop();
    await relay?.cut().catch(() => {});
    await dropSchema(db, SCHEMA);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const bytesOf = async (path: string) => {
    const res = await s.get(path);
    assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
    return res.arrayBuffer();
  };
  const layerOf = async (id: number, name = 'countries110') => {
    const { body } = await s.json(`/api/resource/${id}`);
    return body.qgis_project.layers.find((l: any) => l.name === name);
  };
  const identify = (body: object) => s.json('/api/feature_layer/identify', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });

  it('the cache API shows the PostGIS layer valid, and the resource uses it', async () => {
    const { status, body } = await s.json('/cache/projects/pg', { headers: ADMIN });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.bad_layers_count, 0);
    const layer = body.layers.find((l: any) => l.name === 'countries110');
    assert.equal(layer.valid, true);
    assert.match(layer.source, new RegExp(`table="${SCHEMA}"\\."countries" \\(geom\\)`));
    assert.deepEqual(await layerOf(PG), { ...(await layerOf(FILE)), provider: 'postgres' });
    assert.equal((await layerOf(PG)).geometry_type, 'MULTIPOLYGON');
  });

  it('MVT below z6 (cut here): each layer decodes to the same features as the file-backed project', async () => {
    let seen = 0;
    for (const [z, x, y] of [[0, 0, 0], [1, 1, 0], [2, 2, 1], [3, 4, 2]]) {
      const [file, pgTile] = await Promise.all([bytesOf(`/api/resource/${FILE}/${z}/${x}/${y}.mvt`), bytesOf(`/api/resource/${PG}/${z}/${x}/${y}.mvt`)]);
      assert.deepEqual(Object.keys(decode(new Uint8Array(pgTile)).layers), Object.keys(decode(new Uint8Array(file)).layers), 'same layers, same order');
      for (const name of ['countries110', 'parallels', 'sites']) {
        assert.deepEqual(insideFeatures(pgTile, name), insideFeatures(file, name), `${z}/${x}/${y} ${name}`);
      }
      seen += insideFeatures(pgTile, 'countries110').length;
    }
    assert.ok(seen > 100, `${seen} countries in the compared tiles`);
  });

  it(`MVT from z${SQL_MVT_MIN_ZOOM} (ST_AsMVT): the same countries with the same values`, async () => {
    const at = `${SQL_MVT_MIN_ZOOM}/33/21`; // France and its neighbours
    const [file, pgTile] = await Promise.all([bytesOf(`/api/resource/${FILE}/${at}.mvt`), bytesOf(`/api/resource/${PG}/${at}.mvt`)]);
    const described = (bytes: ArrayBuffer) => insideFeatures(bytes, 'countries110').map((f) => [f.id, f.properties]);
    assert.ok(described(file).length >= 3);
    assert.deepEqual(described(pgTile), described(file));
  });

  it('renders the same pixels as the file-backed project', async () => {
    for (const path of ['/api/component/render/tile?z=2&x=2&y=1&resource=', `/api/component/render/image?size=300,200&extent=${[mx(-10), my(35), mx(30), my(60)]}&resource=`]) {
      const [file, pgImage] = await Promise.all([bytesOf(path + FILE), bytesOf(path + PG)]);
      const agree = agreement(await rgbaOf(Buffer.from(pgImage)), await rgbaOf(Buffer.from(file)));
      assert.ok(agree.referenceCovered > 1000, `${path}: the file-backed project draws something`);
      assert.ok(agree.coverage > 0.999 && agree.colourError < 1, `${path}: ${describeAgreement(agree)}`);
    }
  });

  it('identify finds the same features as in the file-backed project', async () => {
    const { status, body } = await identify({ srs: 4326, geom: 'POLYGON((0 40, 30 40, 30 60, 0 60, 0 40))', layers: [FILE, PG] });
    assert.equal(status, 200, JSON.stringify(body));
    const countries = body[FILE].features.filter((f: any) => f.qgisLayer.name === 'countries110');
    assert.ok(countries.length >= 10, `${countries.length} European countries`);
    // Each feature names the resource it was found in; the rest is the same.
    const found = (id: number) => ({ ...body[id], features: body[id].features.map((f: any) => ({ ...f, layerId: undefined })) });
    assert.deepEqual(found(PG), found(FILE));
  });

  it('takes the primary key when the datasource names no key, and applies the subset filter (sql=)', async () => {
    const [file, subset] = await Promise.all([bytesOf(`/api/resource/${FILE}/0/0/0.mvt`), bytesOf(`/api/resource/${SUBSET}/0/0/0.mvt`)]);
    const banded = insideFeatures(file, 'countries110').filter((f) => f.properties.band === 1);
    assert.ok(banded.length > 10 && banded.length < insideFeatures(file, 'countries110').length / 2);
    assert.deepEqual(insideFeatures(subset, 'countries110'), banded);
    const { body } = await identify({ srs: 4326, geom: 'POLYGON((0 40, 30 40, 30 60, 0 60, 0 40))', layers: [FILE, SUBSET] });
    const names = (id: number) => body[id].features.filter((f: any) => f.qgisLayer.name === 'countries110').map((f: any) => f.fields.name);
    const europe = body[FILE].features.filter((f: any) => f.qgisLayer.name === 'countries110' && f.fields.band === 1).map((f: any) => f.fields.name);
    assert.ok(europe.length > 0);
    assert.deepEqual(names(SUBSET), europe);
  });

  it('a wrong table is a bad layer with its reason; a key or subset filter Meridian cannot use leaves the layer out with its reason', async () => {
    const { body } = await s.json('/cache/projects/pg_wrong', { headers: ADMIN });
    assert.equal(body.bad_layers_count, 1);
    const bad = body.layers.find((l: any) => l.name === 'countries110');
    assert.equal(bad.valid, false);
    assert.match((await layerOf(WRONG)).error, new RegExp(`table "${SCHEMA}"\\."no_such_table" does not exist`));
    const textKey = await layerOf(TEXT_KEY);
    assert.deepEqual([textKey.valid, textKey.usable], [true, false]);
    assert.match(textKey.error, /"name" must be an integer column/);
    assert.match((await layerOf(TWO_KEYS)).error, /key has several columns \(fid, band\)/);
    // A subset filter is one expression: one that closes the parenthesis around it to add a statement is refused, which never runs.
    assert.match((await layerOf(TWO_STATEMENTS)).error, /subset filter \(sql=\) does not apply: cannot insert multiple commands/);
    assert.equal((await db.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.countries`)).rows[0].n, 177);
    for (const id of [WRONG, TEXT_KEY, TWO_KEYS, TWO_STATEMENTS]) {
      assert.deepEqual(Object.keys(decode(new Uint8Array(await bytesOf(`/api/resource/${id}/0/0/0.mvt`))).layers).sort(), ['parallels', 'sites'], `${id}`);
    }
  });

  it('a database that goes away answers 503 DATABASE_UNAVAILABLE, and the layer serves again once it is back; a project read meanwhile too', async () => {
    assert.ok(insideFeatures(await bytesOf(`/api/resource/${RELAYED}/1/0/0.mvt`), 'countries110').length > 0);
    await relay.cut();
    const unavailable = async (path: string, res: { status: number; body: any }) => {
      assert.equal(res.status, 503, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'DATABASE_UNAVAILABLE', path);
    };
    // Tiles not made yet (a cached tile would be served from the cache), with or without layers=.
    for (const path of [`/api/resource/${RELAYED}/1/1/0.mvt`, `/api/component/feature_layer/mvt?resource=${RELAYED}&z=2&x=2&y=1&layers=countries110`,
      `/api/component/render/tile?z=1&x=1&y=1&resource=${RELAYED}`]) {
      await unavailable(path, await s.json(path));
    }
    await unavailable('identify', await identify({ srs: 4326, geom: 'POINT(2.5 46.5)', layers: [RELAYED] }));
    // The resource still describes the project; other projects and layers serve on.
    assert.equal((await s.json(`/api/resource/${RELAYED}`)).body.qgis_project.status, 'ready');
    assert.ok(insideFeatures(await bytesOf(`/api/component/feature_layer/mvt?resource=${RELAYED}&z=1&x=1&y=0&layers=sites`), 'sites').length > 0);
    assert.ok(insideFeatures(await bytesOf(`/api/resource/${PG}/1/1/1.mvt`), 'countries110').length > 0);
    // A project read while its database is away: a bad layer, as QGIS makes it, left out of tiles.
    const late = async () => (await s.json('/cache/projects/pg_late', { headers: ADMIN })).body;
    const layerNames = async (id: number) => Object.keys(decode(new Uint8Array(await bytesOf(`/api/resource/${id}/0/0/0.mvt`))).layers).sort();
    assert.equal((await late()).bad_layers_count, 1);
    assert.match((await layerOf(LATE)).error, /database cannot be reached/);
    assert.deepEqual(await layerNames(LATE), ['parallels', 'sites']);
    await relay.open();
    // Read again on its next use (MERIDIAN_PROJECT_CHECK_INTERVAL=0 here): the layer is back, in fresh tiles.
    assert.deepEqual(await layerNames(LATE), ['countries110', 'parallels', 'sites']);
    assert.equal((await late()).bad_layers_count, 0);
    assert.deepEqual(insideFeatures(await bytesOf(`/api/resource/${LATE}/0/0/0.mvt`), 'countries110'),
      insideFeatures(await bytesOf(`/api/resource/${FILE}/0/0/0.mvt`), 'countries110'));
    const back = insideFeatures(await bytesOf(`/api/resource/${RELAYED}/1/1/0.mvt`), 'countries110');
    assert.deepEqual(back, insideFeatures(await bytesOf(`/api/resource/${FILE}/1/1/0.mvt`), 'countries110'));
  });

  it('closes the projects\' database connections when the server stops', async () => {
    // The server's connections are the ones whose last query named this test's schema (the test's own aside):
    // a tile made by ST_AsMVT leaves one such (a list's or a window's leaves its ROLLBACK).
    await bytesOf(`/api/resource/${PG}/${SQL_MVT_MIN_ZOOM}/34/21.mvt`);
    const open = async () => (await db.query(`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE pid <> pg_backend_pid() AND query LIKE '%' || $1 || '%'`, [SCHEMA])).rows[0].n;
    assert.ok(await open() > 0, 'the pools hold idle connections');
    await s.stop();
    await until(async () => (await open()) === 0);
    assert.equal(await open(), 0);
  });
});
