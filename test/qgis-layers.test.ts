// QGIS projects as catalog resources (qgis_project): their vector layers through the MVT, render
// and identify endpoints, over the QGIS-written projects in test/qgis-fixtures, with their
// embedded styles, permissions, bad layers left out, and fresh tiles after a reload.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { ADMIN, AUTH_ENV, basic, createUser } from './helpers/auth.js';
import { agreement, describeAgreement, rgbaOf } from './helpers/images.js';
import { decode, features } from './helpers/mvt.js';
import { tempProjectsRoot } from './helpers/qgis.js';
import { SAMPLE_DATA, QGIS_FIXTURES, startServer, tempData, type TestServer } from './helpers/server.js';

const sample = JSON.parse(readFileSync(join(SAMPLE_DATA, 'catalog.json'), 'utf8'));
const R = 6378137;
const mx = (lon: number) => lon * Math.PI / 180 * R;
const my = (lat: number) => Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360)) * R;

const project = (id: number, uri: string, extra: object = {}) => ({ id, cls: 'qgis_project', parent: 0, display_name: `Project ${uri}`, project: uri, ...extra });
/** A point of sites.geojson (id 45) that lies in Brazil. */
const BRAZIL_SITE = [-50, -20];
const deny = (keyname: string, scope: string, permission: string) => ({ action: 'deny', principal: { keyname }, scope, permission, propagate: true });

/** QGIS's reference renders, by the style they were drawn with, and the project layer that style fits. */
const STYLE_LAYERS: Record<string, string> = {
  countries110_single: 'countries110', countries110_categorized: 'countries110', countries110_rules: 'countries110',
  parallels_line: 'parallels', sites_graduated: 'sites',
};
const styleIds = Object.keys(STYLE_LAYERS);

/** world110.qgs with one layer's embedded renderer replaced by the renderer of a QML QGIS wrote. */
function restyled(projectXml: string, layerName: string, qml: string): string {
  const renderer = /<renderer-v2\b[\s\S]*?<\/renderer-v2>/.exec(qml)![0];
  return projectXml.replace(/<maplayer\b[\s\S]*?<\/maplayer>/g, (layer) => (layer.includes(`<layername>${layerName}</layername>`)
    ? layer.replace(/<renderer-v2\b[\s\S]*?<\/renderer-v2>/, renderer) : layer));
}

async function pixels(res: Response) {
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'image/png');
  const { data, info } = await sharp(Buffer.from(await res.arrayBuffer())).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, at: (x: number, y: number) => [...data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 4)] };
}

async function tile(s: TestServer, path: string, headers: Record<string, string> = {}) {
  const res = await s.get(path, { headers });
  assert.equal(res.status, 200, await res.clone().text());
  return { tile: decode(new Uint8Array(await res.arrayBuffer())), cache: res.headers.get('x-tile-cache') };
}

describe('QGIS project layers through tiles, renders and identify', () => {
  let s: TestServer;
  let root: string;
  let bob: Record<string, string>;
  const world = readFileSync(join(QGIS_FIXTURES, 'projects/world110.qgs'), 'utf8');

  before(async () => {
    root = tempProjectsRoot();
    styleIds.forEach((style) => writeFileSync(join(root, `projects/${style}.qgs`),
      restyled(world, STYLE_LAYERS[style], readFileSync(join(QGIS_FIXTURES, 'styles', `${style}.qml`), 'utf8'))));
    // A project of its own, over a copy of the sites, for the reload tests.
    copyFileSync(join(root, 'data/sites.geojson'), join(root, 'data/reload_sites.geojson'));
    writeFileSync(join(root, 'projects/reload.qgs'), world.replaceAll('../data/sites.geojson', '../data/reload_sites.geojson'));
    // The layer order panel's order put in force (countries110 on top), parallels hidden in the layer tree, and
    // countries110 not identifiable.
    writeFileSync(join(root, 'projects/reordered.qgs'), world.replace('<custom-order enabled="0">', '<custom-order enabled="1">')
      .replace(/(<layer-tree-layer id="parallels[^"]*"[^>]*?)checked="Qt::Checked"/, '$1checked="Qt::Unchecked"')
      .replace(/<maplayer\b[\s\S]*?<\/maplayer>/g, (layer) => (layer.includes('<layername>countries110</layername>')
        ? layer.replace('<Identifiable>1</Identifiable>', '<Identifiable>0</Identifiable>') : layer)));
    // parallels, itself checked, inside an unchecked group: hidden, as QGIS hides it.
    writeFileSync(join(root, 'projects/grouped.qgs'), world.replace(/<layer-tree-layer id="parallels[\s\S]*?<\/layer-tree-layer>/,
      (layer) => `<layer-tree-group name="lines" checked="Qt::Unchecked" expanded="1">${layer}</layer-tree-group>`));
    const catalog = {
      resources: [
        ...sample.resources,
        project(50, 'projects/world110'), project(51, 'projects/world110.qgz'), project(52, 'projects/missing_layer'),
        project(53, 'projects/world110', { permissions: [deny('everyone', 'data', 'read')] }),
        project(54, 'projects/nowhere'), project(55, 'projects/reload'), project(56, 'projects/reordered'), project(57, 'projects/grouped'),
        ...styleIds.map((style, i) => project(60 + i, `projects/${style}`)),
      ],
    };
    s = await startServer({ dataDir: tempData({ copySample: true, catalog }), env: { ...AUTH_ENV, MERIDIAN_PROJECTS: root, MERIDIAN_PROJECT_CHECK_INTERVAL: '0' } });
    await createUser(s, 'bob', 'bob-secret-1');
    bob = basic('bob', 'bob-secret-1');
  });
  after(async () => { await s?.stop(); rmSync(root, { recursive: true, force: true }); });

  it('describes the project and its layers in /api/resource/{id}, bottom layer first', async () => {
    const { status, body } = await s.json('/api/resource/50');
    assert.equal(status, 200);
    assert.equal(body.resource.cls, 'qgis_project');
    assert.equal(body.qgis_project.crs, 'EPSG:3857 - WGS 84 / Pseudo-Mercator');
    assert.deepEqual(body.qgis_project.layers.map((l: any) => [l.name, l.usable, l.visible, l.geometry_type]), [
      ['countries110', true, true, 'MULTIPOLYGON'], ['parallels', true, true, 'LINESTRING'], ['sites', true, true, 'POINT'],
    ]);
    const missing = (await s.json('/api/resource/52')).body.qgis_project;
    // "gone" is above "parallels" in the project's layer tree, so drawn after it.
    assert.deepEqual(missing.layers.map((l: any) => [l.name, l.valid, l.usable]), [['parallels', true, true], ['gone', false, false]]);
    assert.match(missing.layers[1].error, /does not exist/);
    const nowhere = (await s.json('/api/resource/54')).body.qgis_project;
    assert.equal(nowhere.status, 'error');
  });

  it('serves one MVT layer per vector layer, named as in QGIS, with the features the catalog layer has', async () => {
    const { tile: mine } = await tile(s, '/api/resource/50/1/1/0.mvt');
    assert.deepEqual(Object.keys(mine.layers).sort(), ['countries110', 'parallels', 'sites']);
    // The same file as the catalog's countries (id 2), cut by the same tiling core: the same features.
    const { tile: catalogTile } = await tile(s, '/api/component/feature_layer/mvt?resource=2,6,9&z=1&x=1&y=0');
    for (const [name, id] of [['countries110', 2], ['parallels', 6], ['sites', 9]] as const) {
      const json = (t: typeof mine, l: string) => features(t, l).map((f) => JSON.stringify([f.properties, f.loadGeometry()])).sort();
      assert.ok(features(mine, name).length > 0, name);
      assert.deepEqual(json(mine, name), json(catalogTile, `ngw:${id}`), name);
    }
    assert.ok(features(mine, 'countries110').some((f) => f.properties.name === 'Russia'));
  });

  it('selects layers with layers= and refuses names the project does not have', async () => {
    const { tile: only } = await tile(s, '/api/component/feature_layer/mvt?resource=50&z=0&x=0&y=0&layers=sites,parallels');
    assert.deepEqual(Object.keys(only.layers).sort(), ['parallels', 'sites']);
    assert.equal(only.layers.sites.length, JSON.parse(readFileSync(join(root, 'data/sites.geojson'), 'utf8')).features.length);
    const unknown = await s.json('/api/component/feature_layer/mvt?resource=50&z=0&x=0&y=0&layers=sites,nope');
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /nope/);
    assert.equal((await s.json('/api/component/feature_layer/mvt?resource=2&z=0&x=0&y=0&layers=sites')).status, 400);
    // Two projects giving layers of one name cannot share a tile.
    assert.equal((await s.json('/api/component/feature_layer/mvt?resource=50,51&z=0&x=0&y=0')).status, 400);
  });

  it('serves a .qgz project, and leaves out a bad layer without failing the project', async () => {
    assert.deepEqual(Object.keys((await tile(s, '/api/resource/51/0/0/0.mvt')).tile.layers).sort(), ['countries110', 'sites']);
    assert.deepEqual(Object.keys((await tile(s, '/api/resource/52/0/0/0.mvt')).tile.layers), ['parallels']);
    const nowhere = await s.json('/api/resource/54/0/0/0.mvt');
    assert.equal(nowhere.status, 503);
    assert.equal(nowhere.body.code, 'PROJECT_UNAVAILABLE');
  });

  for (const file of readdirSync(join(QGIS_FIXTURES, 'renders'))) {
    const [, style, z, x, y] = /^(.+)_(\d+)_(\d+)_(\d+)\.png$/.exec(file)!;
    it(`draws a project layer with its embedded style as QGIS does: ${file}`, async () => {
      const id = 60 + styleIds.indexOf(style);
      const mine = await pixels(await s.get(`/api/component/render/tile?resource=${id}&z=${z}&x=${x}&y=${y}&layers=${STYLE_LAYERS[style]}`));
      const a = agreement(mine.data, await rgbaOf(join(QGIS_FIXTURES, 'renders', file)));
      assert.ok(a.referenceCovered > 0, 'QGIS drew something');
      assert.ok(a.coverage >= 0.95 && a.colourError < 4, describeAgreement(a));
    });
  }

  it('draws the project in its drawing order, with the styles embedded in it', async () => {
    const sites = JSON.parse(readFileSync(join(root, 'data/sites.geojson'), 'utf8')).features;
    assert.ok(sites.some((f: any) => f.geometry.coordinates.join() === BRAZIL_SITE.join()));
    // A site inside Brazil: its marker (the project's sites style) covers the country's fill.
    const image = (layers = '') => s.get(`/api/component/render/image?resource=50&size=1,1${layers}&extent=${[mx(BRAZIL_SITE[0]) - 500, my(BRAZIL_SITE[1]) - 500, mx(BRAZIL_SITE[0]) + 500, my(BRAZIL_SITE[1]) + 500]}`);
    assert.deepEqual((await pixels(await image())).at(0, 0), [255, 199, 161, 255]);
    assert.deepEqual((await pixels(await image('&layers=countries110'))).at(0, 0), [154, 174, 104, 255]);
    const france = [mx(2.5), my(46.5)];
    const country = await pixels(await s.get(`/api/component/render/image?resource=50&size=1,1&extent=${[france[0] - 500, france[1] - 500, france[0] + 500, france[1] + 500]}`));
    assert.deepEqual(country.at(0, 0), [154, 174, 104, 255]);
  });

  it('follows the layer order panel when the project enables it, and leaves hidden layers out of renders', async () => {
    const layers = (await s.json('/api/resource/56')).body.qgis_project.layers;
    assert.deepEqual(layers.map((l: any) => [l.name, l.visible]), [['sites', true], ['parallels', false], ['countries110', true]]);
    // The countries, now on top, cover the site's marker.
    const at = [mx(BRAZIL_SITE[0]) - 500, my(BRAZIL_SITE[1]) - 500, mx(BRAZIL_SITE[0]) + 500, my(BRAZIL_SITE[1]) + 500];
    assert.deepEqual((await pixels(await s.get(`/api/component/render/image?resource=56&size=1,1&extent=${at}`))).at(0, 0), [154, 174, 104, 255]);
    // Over the Equator's parallel at sea, between sites: drawn by 50, not by 56 where it is hidden.
    const sea = [mx(-140) - 20000, my(0) - 20000, mx(-140) + 20000, my(0) + 20000];
    const line = async (id: number) => (await pixels(await s.get(`/api/component/render/image?resource=${id}&size=9,9&extent=${sea}`))).at(4, 4);
    assert.deepEqual(await line(50), [68, 90, 177, 255]);
    assert.equal((await line(56))[3], 0);
    const grouped = (await s.json('/api/resource/57')).body.qgis_project.layers;
    assert.deepEqual(grouped.map((l: any) => [l.name, l.visible]), [['countries110', true], ['parallels', false], ['sites', true]]);
    assert.equal((await line(57))[3], 0);
    // Tiles carry every layer, hidden or not; layers= draws a hidden one when asked.
    assert.ok((await tile(s, '/api/resource/56/0/0/0.mvt')).tile.layers.parallels);
    assert.equal((await pixels(await s.get(`/api/component/render/image?resource=56&size=9,9&extent=${sea}&layers=parallels`))).at(4, 4)[3], 255);
  });

  it('identifies the features of the project layers under a point', async () => {
    const { status, body } = await s.json('/api/feature_layer/identify', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ geom: `POINT(${mx(2.5)} ${my(46.5)})`, srs: 3857, layers: [50] }),
    });
    assert.equal(status, 200);
    assert.equal(body.featureCount, 1);
    assert.equal(body[50].features[0].fields.name, 'France');
    assert.deepEqual(body[50].features[0].qgisLayer.name, 'countries110');
    // A site's marker spot finds the site, and (in 50, not in 56 where countries110 is not identifiable) Brazil.
    const site = await s.json('/api/feature_layer/identify', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ geom: `POINT(${mx(BRAZIL_SITE[0])} ${my(BRAZIL_SITE[1])})`, srs: 3857, layers: [50, 56], tolerance: 1000 }),
    });
    assert.deepEqual(site.body[50].features.map((f: any) => [f.qgisLayer.name, f.fields.name ?? f.fields.id]), [['countries110', 'Brazil'], ['sites', 45]]);
    assert.deepEqual(site.body[56].features.map((f: any) => [f.qgisLayer.name, f.fields.id]), [['sites', 45]]);
  });

  it('applies the resource ACL: no tiles, renders or features without data.read', async () => {
    for (const path of ['/api/resource/53/0/0/0.mvt', '/api/component/feature_layer/mvt?resource=53&z=0&x=0&y=0',
      '/api/component/render/tile?resource=53&z=0&x=0&y=0', '/api/component/render/image?resource=53&extent=-1e7,-1e7,1e7,1e7&size=8,8']) {
      assert.equal((await s.get(path, { headers: bob })).status, 403, path);
      assert.equal((await s.get(path, { headers: ADMIN })).status, 200, path);
    }
    const { body } = await s.json('/api/feature_layer/identify', {
      method: 'POST', headers: { 'content-type': 'application/json', ...bob },
      body: JSON.stringify({ geom: `POINT(${mx(2.5)} ${my(46.5)})`, srs: 3857, layers: [53, 50] }),
    });
    assert.deepEqual(body[53], { error: 'Forbidden' });
    assert.equal(body[50].featureCount, 1);
  });

  it('keeps the tiles of a project evicted and read again from the same files', async () => {
    const path = '/api/resource/50/2/1/1.mvt';
    await tile(s, path);
    assert.equal((await tile(s, path)).cache, 'hit');
    assert.equal((await s.get('/cache/projects/world110', { method: 'DELETE', headers: ADMIN })).status, 200);
    assert.equal((await tile(s, path)).cache, 'hit');
    const cached = (await s.json('/cache/', { headers: ADMIN })).body.cached.map((c: any) => c.name);
    assert.ok(cached.includes('projects/world110'), 'the tile request loaded the project again');
  });

  it('serves fresh tiles after the project file or a layer\'s data file changes', async () => {
    const path = '/api/resource/55/0/0/0.mvt';
    const render = '/api/component/render/tile?resource=55&z=0&x=0&y=0&layers=sites';
    const first = await tile(s, path);
    assert.ok(first.tile.layers.sites);
    assert.equal((await tile(s, path)).cache, 'hit');
    const before = (await pixels(await s.get(render))).data;
    // The project changes on disk: the sites layer is renamed and drawn in another colour.
    const file = join(root, 'projects/reload.qgs');
    writeFileSync(file, readFileSync(file, 'utf8').replace('<layername>sites</layername>', '<layername>places</layername>').replace('255,199,161,255', '0,0,255,255'));
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const changed = await tile(s, path);
    assert.equal(changed.cache, 'miss');
    assert.deepEqual(Object.keys(changed.tile.layers).sort(), ['countries110', 'parallels', 'places']);
    assert.notDeepEqual((await pixels(await s.get(render.replace('sites', 'places')))).data, before);
    // The data changes, not the project, written in two steps: read again once a check (every
    // request here) finds it as the one before did, as the catalog's layers are, not half-way.
    assert.ok(features((await tile(s, path)).tile, 'places').length > 3);
    const data = join(root, 'data/reload_sites.geojson');
    const sites = JSON.parse(readFileSync(data, 'utf8'));
    sites.features = sites.features.slice(0, 3);
    const text = JSON.stringify(sites);
    writeFileSync(data, text.slice(0, 100));
    const halfWritten = await tile(s, path);
    await new Promise((r) => setTimeout(r, 50));
    writeFileSync(data, text);
    const written = await tile(s, path);
    for (const seen of [halfWritten, written]) {
      assert.equal(seen.cache, 'hit', 'a data file still changing leaves the project as it was');
      assert.ok(features(seen.tile, 'places').length > 3);
    }
    const reread = await tile(s, path);
    assert.equal(reread.cache, 'miss');
    assert.equal(features(reread.tile, 'places').length, 3);
    assert.equal((await tile(s, path)).cache, 'hit', 'read once');
  });
});

describe('qgis_project resources across restarts', () => {
  const catalog = { resources: [project(1, 'projects/world110')] };
  let root: string;
  let tiles: string;
  const serve = () => startServer({ dataDir: tempData({ catalog }), env: { MERIDIAN_PROJECTS: root, MERIDIAN_TILE_STORE: tiles, MERIDIAN_PROJECT_CHECK_INTERVAL: '0' } });
  before(() => { root = tempProjectsRoot(); tiles = mkdtempSync(join(tmpdir(), 'meridian-tiles-')); });
  after(() => { rmSync(root, { recursive: true, force: true }); rmSync(tiles, { recursive: true, force: true }); });

  it('keeps stored tiles of an unchanged project, and drops them when the project changed meanwhile', async () => {
    // Tile 1/1/0 of world110 has thousands of vertices near it: it is cut in the worker pool, so
    // the live path stores it (a tile made on the main thread would not be).
    const storeOutcome = async () => {
      const s = await serve();
      try {
        const res = await s.get('/api/resource/1/1/1/0.mvt');
        assert.equal(res.status, 200);
        return res.headers.get('x-tile-store');
      } finally { await s.stop(); }
    };
    assert.equal(await storeOutcome(), 'miss');
    assert.equal(await storeOutcome(), 'hit');
    const file = join(root, 'projects/world110.qgs');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    assert.equal(await storeOutcome(), 'miss');
  });

  it('refuses a catalog whose qgis_project names no project', async () => {
    await assert.rejects(startServer({ dataDir: tempData({ catalog: { resources: [{ id: 1, cls: 'qgis_project', parent: 0, display_name: 'P' }] } }) }),
      /resource 1: a qgis_project needs a "project"/);
  });
});
