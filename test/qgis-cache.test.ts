import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ZipFile } from 'yazl';
import { tempProjectsRoot } from './helpers/qgis.js';
import { ADMIN, AUTH_ENV, basic, createUser } from './helpers/auth.js';
import { QGIS_FIXTURES, startServer, tempData, type TestServer } from './helpers/server.js';

async function call(base: string, path: string, init?: RequestInit) {
  const res = await fetch(base + path, init);
  return { status: res.status, body: await res.json() as any };
}

function assertManagementError(r: { status: number; body: any }, status: number) {
  assert.equal(r.status, status);
  assert.deepEqual(Object.keys(r.body).sort(), ['error', 'httpcode', 'status']);
  assert.equal(r.body.status, 'error');
  assert.equal(r.body.httpcode, status);
  assert.equal(typeof r.body.error.message, 'string');
}

describe('QGIS project cache API on QGIS-written projects', () => {
  let s: TestServer;
  let root: string;
  let m: string;
  before(async () => {
    root = tempProjectsRoot();
    s = await startServer({ dataDir: tempData({ copySample: true }), env: { ...AUTH_ENV, MERIDIAN_PROJECTS: root, MERIDIAN_MANAGEMENT_PORT: '0', MERIDIAN_PROJECT_CHECK_INTERVAL: '0' } });
    m = s.managementUrl!;
  });
  after(async () => { await s.stop(); rmSync(root, { recursive: true, force: true }); });

  it('reads the layers, CRS and datasources of a .qgs', async () => {
    const { status, body } = await call(m, '/cache/projects/world110');
    assert.equal(status, 200);
    assert.equal(body.cache_key, 'projects/world110');
    assert.equal(body.filename, join(root, 'projects/world110.qgs'));
    assert.equal(body.crs, 'EPSG:3857 - WGS 84 / Pseudo-Mercator');
    assert.equal(body.bad_layers_count, 0);
    assert.match(body.last_modified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    assert.deepEqual(body.layers.map((l: any) => [l.name, l.source, l.crs, l.valid, l.spatial]), [
      ['countries110', '../data/countries110.geojson', 'EPSG:4326 - WGS 84', true, true],
      ['parallels', '../data/parallels.geojson', 'EPSG:4326 - WGS 84', true, true],
      ['sites', '../data/sites.geojson', 'EPSG:4326 - WGS 84', true, true],
    ]);
    // Layer ids are the ones QGIS wrote in the file.
    const xml = readFileSync(join(QGIS_FIXTURES, 'projects/world110.qgs'), 'utf8');
    for (const l of body.layers) assert.ok(xml.includes(`<id>${l.id}</id>`), l.id);
  });

  it('reads a zipped .qgz', async () => {
    const { status, body } = await call(m, '/cache/projects/world110.qgz');
    assert.equal(status, 200);
    assert.equal(body.cache_key, 'projects/world110.qgz');
    assert.equal(body.crs, 'EPSG:4326 - WGS 84');
    assert.deepEqual(body.layers.map((l: any) => l.name), ['countries110', 'sites']);
    assert.equal(body.bad_layers_count, 0);
  });

  it('counts a layer whose file is gone as a bad layer', async () => {
    const { status, body } = await call(m, '/cache/content/projects/missing_layer');
    assert.equal(status, 200);
    assert.equal(body.bad_layers_count, 1);
    assert.deepEqual(body.layers.map((l: any) => [l.name, l.valid]), [['gone', false], ['parallels', true]]);
  });

  it('accepts the file: scheme and the MAP parameter for the same cache key', async () => {
    for (const path of ['/cache/file:projects/world110', '/cache/file:%2F%2F%2Fprojects%2Fworld110', '/cache/?MAP=projects/world110']) {
      const { status, body } = await call(m, path);
      assert.equal(status, 200, path);
      assert.equal(body.cache_key, 'projects/world110', path);
    }
  });

  it('lists cached projects with links that answer', async () => {
    const { status, body } = await call(m, '/cache/');
    assert.equal(status, 200);
    const names = body.cached.map((c: any) => c.name).sort();
    assert.deepEqual(names, ['projects/missing_layer', 'projects/world110', 'projects/world110.qgz']);
    for (const c of body.cached) {
      assert.ok(!Number.isNaN(Date.parse(c.last_modified)));
      const linked = await call('', c.link);
      assert.equal(linked.body.cache_key, c.name);
    }
  });

  it('refuses paths that leave the projects root with 403', async () => {
    // A real project outside the root, reached through a symlink inside it.
    const outside = mkdtempSync(join(tmpdir(), 'meridian-outside-'));
    cpSync(join(root, 'projects/world110.qgs'), join(outside, 'world110.qgs'));
    symlinkSync(outside, join(root, 'projects/elsewhere'));
    for (const path of ['/cache/..%2F..%2Fetc%2Fpasswd', '/cache/projects%2F..%2F..%2Fworld', '/cache/file:..%2Fx',
      `/cache/${encodeURIComponent('/etc/passwd')}`, `/cache/${encodeURIComponent(join(outside, 'world110'))}`, '/cache/projects/elsewhere/world110']) {
      assertManagementError(await call(m, path), 403);
    }
    rmSync(outside, { recursive: true, force: true });
  });

  it('answers 404 for an unknown project and 400 for another scheme, in py-qgis-server shape', async () => {
    assertManagementError(await call(m, '/cache/projects/nothing'), 404);
    assertManagementError(await call(m, '/cache/postgres:service=x'), 400);
  });

  it('reloads a project whose file changed on disk', async () => {
    const file = join(root, 'projects/world110.qgs');
    const before = (await call(m, '/cache/projects/world110')).body;
    writeFileSync(file, readFileSync(file, 'utf8').replace('<layername>sites</layername>', '<layername>places</layername>'));
    const later = new Date(Date.parse(before.last_modified) + 60_000);
    utimesSync(file, later, later);
    const after = (await call(m, '/cache/projects/world110')).body;
    assert.deepEqual(after.layers.map((l: any) => l.name), ['countries110', 'parallels', 'places']);
    assert.equal(Date.parse(after.last_modified), later.getTime());
  });

  it('drops a cached project whose file changed into something unreadable', async () => {
    const file = join(root, 'projects/broken.qgs');
    cpSync(join(root, 'projects/world110.qgs'), file);
    assert.equal((await call(m, '/cache/projects/broken')).status, 200);
    writeFileSync(file, '<qgis><not closed');
    const later = new Date(Date.now() + 60_000);
    utimesSync(file, later, later);
    for (let i = 0; i < 2; i++) assertManagementError(await call(m, '/cache/projects/broken'), 422);
    assert.ok(!(await call(m, '/cache/')).body.cached.some((c: any) => c.name === 'projects/broken'), 'not listed as cached');
    rmSync(file);
  });

  it('refuses a project past 32 MB, plain or zipped, and serves on', async () => {
    // Parsed whole, 200 MB of it (in a 190 KB .qgz) filled the heap and stopped the server.
    const xml = `<qgis>${' '.repeat(32 * 2 ** 20)}</qgis>`;
    writeFileSync(join(root, 'projects/huge.qgs'), xml);
    const zip = new ZipFile();
    zip.addBuffer(Buffer.from(xml), 'huge.qgs');
    zip.end();
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream) chunks.push(c as Buffer);
    writeFileSync(join(root, 'projects/huge_zipped.qgz'), Buffer.concat(chunks));
    for (const uri of ['projects/huge', 'projects/huge_zipped']) {
      const r = await call(m, `/cache/${uri}`);
      assertManagementError(r, 422);
      assert.match(r.body.error.message, /larger than 32 MB/);
    }
    assert.equal((await call(m, '/cache/projects/world110')).status, 200);
    rmSync(join(root, 'projects/huge.qgs'));
    rmSync(join(root, 'projects/huge_zipped.qgz'));
  });

  it('evicts with DELETE and loads again with PUT', async () => {
    assert.deepEqual((await call(m, '/cache/projects/world110.qgz', { method: 'DELETE' })).body, { status: 'ok' });
    let cached = (await call(m, '/cache/')).body.cached.map((c: any) => c.name);
    assert.ok(!cached.includes('projects/world110.qgz'));
    assertManagementError(await call(m, '/cache/projects/world110.qgz', { method: 'DELETE' }), 404);
    const put = await call(m, '/cache/projects/world110.qgz', { method: 'PUT' });
    assert.equal(put.status, 200);
    assert.equal(put.body.cache_key, 'projects/world110.qgz');
    cached = (await call(m, '/cache/')).body.cached.map((c: any) => c.name);
    assert.ok(cached.includes('projects/world110.qgz'));
  });

  it('makes a project\'s vector layers readable through the layer store', async () => {
    const entry = await s.services.projects.get('projects/world110.qgz');
    const countries = await entry.featureLayer(entry.project.layers[0].id);
    const geojson = JSON.parse(readFileSync(join(root, 'data/countries110.geojson'), 'utf8'));
    assert.equal(await countries.count(), geojson.features.length);
    assert.match(entry.project.layers[0].qml, /<qgis [^>]*>[\s\S]*<renderer-v2 [\s\S]*<\/qgis>/);
  });

  it('serves administrators only on the public port: 401 for a guest, 403 for another user', async () => {
    await createUser(s, 'mapper', 'mapper-password');
    const mapper = basic('mapper', 'mapper-password');
    for (const [path, method] of [['/cache/', 'GET'], ['/cache/projects/world110', 'DELETE']]) {
      assertManagementError(await call(s.url, path, { method }), 401);
      assertManagementError(await call(s.url, path, { method, headers: mapper }), 403);
    }
    assert.ok((await call(m, '/cache/')).body.cached.some((c: any) => c.name === 'projects/world110'), 'no refused DELETE was applied');
    const admin = await call(s.url, '/cache/projects/world110', { headers: ADMIN });
    assert.equal(admin.status, 200);
    assert.equal(admin.body.cache_key, 'projects/world110');
  });
});

/** A server over a projects root of its own, with a management port: started before a describe's tests, removed after. */
function projectServer(env: Record<string, string>): { s: TestServer; root: string } {
  const at = {} as { s: TestServer; root: string };
  before(async () => {
    at.root = tempProjectsRoot();
    at.s = await startServer({ env: { MERIDIAN_PROJECTS: at.root, MERIDIAN_MANAGEMENT_PORT: '0', ...env } });
  });
  after(async () => { await at.s.stop(); rmSync(at.root, { recursive: true, force: true }); });
  return at;
}

describe('QGIS project cache bound', () => {
  const at = projectServer({ MERIDIAN_PROJECT_CACHE_SIZE: '1', MERIDIAN_PROJECT_PRELOAD: 'projects/missing_layer' });

  it('keeps at most the configured number of projects, least recently used out first, preloaded ones pinned', async () => {
    const m = at.s.managementUrl!;
    const cached = async () => (await call(m, '/cache/')).body.cached.map((c: any) => c.name).sort();
    assert.deepEqual(await cached(), ['projects/missing_layer']);
    await call(m, '/cache/projects/world110');
    assert.deepEqual(await cached(), ['projects/missing_layer', 'projects/world110']);
    await call(m, '/cache/projects/world110.qgz');
    assert.deepEqual(await cached(), ['projects/missing_layer', 'projects/world110.qgz']);
  });

  it('checks a cached project\'s file at most every check interval; PUT reloads at once', async () => {
    const m = at.s.managementUrl!;
    const file = join(at.root, 'projects/world110.qgz');
    const names = async (init?: RequestInit) => (await call(m, '/cache/projects/world110.qgz', init)).body.layers.map((l: any) => l.name);
    assert.deepEqual(await names(), ['countries110', 'sites']);
    // Replace the project by another one (three layers) with a later modification time.
    const zip = new ZipFile();
    zip.addFile(join(at.root, 'projects/world110.qgs'), 'world110.qgs');
    zip.end();
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream) chunks.push(c as Buffer);
    writeFileSync(file, Buffer.concat(chunks));
    const later = new Date(Date.now() + 60_000);
    utimesSync(file, later, later);
    // The default interval (10 s) has not passed: the cached version still answers.
    assert.deepEqual(await names(), ['countries110', 'sites']);
    assert.deepEqual(await names({ method: 'PUT' }), ['countries110', 'parallels', 'sites']);
  });
});

describe('a preloaded project whose file breaks', () => {
  const at = projectServer({ MERIDIAN_PROJECT_CACHE_SIZE: '1', MERIDIAN_PROJECT_PRELOAD: 'projects/missing_layer', MERIDIAN_PROJECT_CHECK_INTERVAL: '0' });

  it('comes back pinned once its file is fixed; a DELETE unpins it, cached or not', async () => {
    const m = at.s.managementUrl!;
    const file = join(at.root, 'projects/missing_layer.qgs');
    const good = readFileSync(file);
    const touch = (seconds: number) => { const t = new Date(Date.now() + seconds * 1000); utimesSync(file, t, t); };
    const project = () => call(m, '/cache/projects/missing_layer');
    const cached = async () => (await call(m, '/cache/')).body.cached.map((c: any) => c.name).sort();
    assert.equal((await project()).status, 200);
    writeFileSync(file, '<qgis><not closed');
    touch(60);
    assertManagementError(await project(), 422);
    assert.deepEqual(await cached(), []);
    writeFileSync(file, good);
    touch(120);
    assert.equal((await project()).status, 200);
    await call(m, '/cache/projects/world110');
    await call(m, '/cache/projects/world110.qgz');
    assert.deepEqual(await cached(), ['projects/missing_layer', 'projects/world110.qgz'], 'pinned again: kept past the bound of one');
    // Broken again, then evicted on request while out of the cache: the DELETE unpins it.
    writeFileSync(file, '<qgis><not closed');
    touch(180);
    assertManagementError(await project(), 422);
    assert.equal((await call(m, '/cache/projects/missing_layer', { method: 'DELETE' })).status, 200);
    assertManagementError(await call(m, '/cache/projects/missing_layer', { method: 'DELETE' }), 404);
    writeFileSync(file, good);
    touch(240);
    assert.equal((await project()).status, 200);
    await call(m, '/cache/projects/world110');
    assert.deepEqual(await cached(), ['projects/world110'], 'loaded on demand after DELETE: not pinned');
  });
});
