// Layers of QGIS projects whose data is not a file: a PostGIS table is opened to be called valid
// (needs MERIDIAN_TEST_PG_URL, see scripts/pg-test-server.sh), XYZ tiles are valid as QGIS finds
// them without a request, and providers Meridian cannot open are reported bad with the reason.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ADMIN, AUTH_ENV } from './helpers/auth.js';
import { dropSchema, freshSchema, PG_SKIP, PG_URL } from './helpers/pg.js';
import { postgresDatasource, tempProjectsRoot, worldWith } from './helpers/qgis.js';
import { SAMPLE_DATA, startServer, tempData, type TestServer } from './helpers/server.js';

const SCHEMA = `meridian_qgis_${process.pid}`;
const sample = JSON.parse(readFileSync(join(SAMPLE_DATA, 'catalog.json'), 'utf8'));

/** world110.qgs with its "sites" layer read through another provider and datasource. */
const withSites = (provider: string, datasource: string) => worldWith('sites', provider, datasource);

async function projectServer(root: string): Promise<TestServer> {
  return startServer({ dataDir: tempData({ copySample: true, catalog: sample }), env: { ...AUTH_ENV, MERIDIAN_PROJECTS: root } });
}

async function sitesLayer(s: TestServer, uri: string) {
  const { status, body } = await s.json(`/cache/${uri}`, { headers: ADMIN });
  assert.equal(status, 200, JSON.stringify(body));
  return { count: body.bad_layers_count, sites: body.layers.find((l: any) => l.name === 'sites') };
}

describe('PostGIS layers of QGIS projects are opened to be checked', {
  skip: PG_SKIP,
}, () => {
  let db: pg.Client;
  let root: string;
  let s: TestServer;
  before(async () => {
    db = await freshSchema(SCHEMA);
    await db.query(`CREATE TABLE ${SCHEMA}.sites (fid integer PRIMARY KEY, id integer, score integer, geom geometry(Point, 4326))`);
    root = tempProjectsRoot();
    const url = new URL(PG_URL!);
    const down = new URL(PG_URL!);
    down.port = '1'; // nothing listens there
    writeFileSync(join(root, 'projects/pg_table.qgs'), withSites('postgres', postgresDatasource(url, SCHEMA, 'sites')));
    writeFileSync(join(root, 'projects/pg_missing.qgs'), withSites('postgres', postgresDatasource(url, SCHEMA, 'no_such_table')));
    writeFileSync(join(root, 'projects/pg_column.qgs'), withSites('postgres', postgresDatasource(url, SCHEMA, 'sites').replace('(geom)', '(the_geom)')));
    writeFileSync(join(root, 'projects/pg_down.qgs'), withSites('postgres', postgresDatasource(down, SCHEMA, 'sites')));
    s = await projectServer(root);
  });
  after(async () => {
    await s?.stop();
    await dropSchema(db, SCHEMA);
    rmSync(root, { recursive: true, force: true });
  });

  it('calls a layer on a table that exists valid', async () => {
    const { count, sites } = await sitesLayer(s, 'projects/pg_table');
    assert.equal(count, 0);
    assert.equal(sites.valid, true);
  });

  it('calls a layer on a table that does not exist, or lacks its geometry column, bad', async () => {
    for (const uri of ['projects/pg_missing', 'projects/pg_column']) {
      const { count, sites } = await sitesLayer(s, uri);
      assert.equal(count, 1, uri);
      assert.equal(sites.valid, false, uri);
    }
  });

  it('calls a layer on a database that cannot be reached bad, without failing the project', async () => {
    const { count, sites } = await sitesLayer(s, 'projects/pg_down');
    assert.equal(count, 1);
    assert.equal(sites.valid, false);
  });

  it('finds a table created after the project was first loaded once the project is reloaded', async () => {
    assert.equal((await sitesLayer(s, 'projects/pg_missing')).sites.valid, false);
    await db.query(`CREATE TABLE ${SCHEMA}.no_such_table (fid integer PRIMARY KEY, geom geometry(Point, 4326))`);
    const { status, body } = await s.json('/cache/projects/pg_missing', { method: 'PUT', headers: ADMIN });
    assert.equal(status, 200);
    assert.equal(body.bad_layers_count, 0);
  });
});

describe('QGIS layers of providers Meridian cannot open', () => {
  let root: string;
  let s: TestServer;
  before(async () => {
    root = tempProjectsRoot();
    writeFileSync(join(root, 'projects/xyz.qgs'), withSites('wms', 'type=xyz&url=https://tile.openstreetmap.org/%7Bz%7D/%7Bx%7D/%7By%7D.png&zmax=19&zmin=0'));
    writeFileSync(join(root, 'projects/wms.qgs'), withSites('wms', 'contextualWMSLegend=0&crs=EPSG:3857&format=image/png&layers=roads&styles&url=https://maps.example.org/wms'));
    writeFileSync(join(root, 'projects/pg_service.qgs'), withSites('postgres', `service='gis' table="public"."sites" (geom)`));
    s = await projectServer(root);
  });
  after(async () => { await s?.stop(); rmSync(root, { recursive: true, force: true }); });

  it('reports XYZ tiles valid, as QGIS opens them without a request', async () => {
    assert.equal((await sitesLayer(s, 'projects/xyz')).sites.valid, true);
  });

  it('reports a WMS layer and a pg_service connection bad: nothing vouches for them', async () => {
    for (const uri of ['projects/wms', 'projects/pg_service']) {
      const { count, sites } = await sitesLayer(s, uri);
      assert.equal(count, 1, uri);
      assert.equal(sites.valid, false, uri);
    }
  });
});
