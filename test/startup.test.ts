// Meridian as a user starts it: `node --import tsx src/main.ts`, with settings from the command line
// or the environment; broken catalogs stop it with one clear line; SIGTERM lets a download finish;
// one structured log line per request.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog, CatalogError } from '../src/catalog/catalog.js';
import { ConfigError, readConfig } from '../src/config.js';
import { spawnMeridian, startMeridian } from './helpers/child.js';
import { fixtureData, SAMPLE_STYLES } from './helpers/server.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('settings', () => {
  it('command line beats environment beats defaults', () => {
    const d = readConfig([], {});
    assert.equal(d.port, 8080);
    assert.equal(d.host, '0.0.0.0');
    assert.equal(d.dataDir, join(process.cwd(), 'data'));
    assert.equal(d.stylesDir, join(process.cwd(), 'styles'));
    const env = { PORT: '9001', HOST: '127.0.0.2', MERIDIAN_DATA: '/srv/d', MERIDIAN_STYLES: '/srv/s' };
    assert.deepEqual(
      (({ port, host, dataDir, stylesDir }) => ({ port, host, dataDir, stylesDir }))(readConfig([], env)),
      { port: 9001, host: '127.0.0.2', dataDir: '/srv/d', stylesDir: '/srv/s' });
    const cli = readConfig(['--port', '9002', '--host', '::1', '--data', '/x/d', '--styles', '/x/s'], env);
    assert.deepEqual([cli.port, cli.host, cli.dataDir, cli.stylesDir], [9002, '::1', '/x/d', '/x/s']);
  });

  it('the bounds on a PostgreSQL statement and a stalled stream: defaults, file keys, environment, refused values', () => {
    const d = readConfig([], {});
    assert.deepEqual([d.databaseStatementTimeoutMs, d.streamStallTimeoutMs], [30_000, 60_000]);
    const dir = mkdtempSync(join(tmpdir(), 'meridian-config-'));
    try {
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ databaseStatementTimeoutMs: 1500, streamStallTimeoutMs: 0 }));
      const fromFile = readConfig(['--config', file], {});
      assert.deepEqual([fromFile.databaseStatementTimeoutMs, fromFile.streamStallTimeoutMs], [1500, 0]);
      const fromEnv = readConfig(['--config', file], { MERIDIAN_DATABASE_STATEMENT_TIMEOUT_MS: '0', MERIDIAN_STREAM_STALL_TIMEOUT_MS: '250' });
      assert.deepEqual([fromEnv.databaseStatementTimeoutMs, fromEnv.streamStallTimeoutMs], [0, 250]);
      for (const [key, env] of [['databaseStatementTimeoutMs', 'MERIDIAN_DATABASE_STATEMENT_TIMEOUT_MS'], ['streamStallTimeoutMs', 'MERIDIAN_STREAM_STALL_TIMEOUT_MS']]) {
        for (const bad of ['-1', '1.5', '30s', String(2 ** 31), '', ' ']) { // blank is refused, not read as 0 (off)
          assert.throws(() => readConfig([], { [env]: bad }), (e: Error) => e instanceof ConfigError
            && e.message === `${key} must be an integer from 0 to ${2 ** 31 - 1}, got "${bad}"`, `${env}=${bad}`);
        }
        writeFileSync(file, JSON.stringify({ [key]: 'long' }));
        assert.throws(() => readConfig(['--config', file], {}), ConfigError, `${key}: "long" in the file`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  let data: string;
  before(() => { data = fixtureData(); });
  after(() => rmSync(data, { recursive: true, force: true }));

  it('PORT, HOST, MERIDIAN_DATA and MERIDIAN_STYLES start a real server', async () => {
    const port = await freePort();
    const child = spawnMeridian([], { PORT: String(port), HOST: '127.0.0.1', MERIDIAN_DATA: data, MERIDIAN_STYLES: SAMPLE_STYLES });
    try {
      const listening = await child.waitForLog((l) => l.msg === 'listening');
      assert.equal(listening.url, `http://127.0.0.1:${port}`);
      assert.equal(listening.bound, '127.0.0.1');
      assert.equal(listening.data, data);
      assert.equal(listening.styles, SAMPLE_STYLES);
      const res = await fetch(`http://127.0.0.1:${port}/api/resource/4`);
      assert.equal((await res.json() as { resource: { keyname: string } }).resource.keyname, 'parcels');
    } finally {
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited, 0);
    }
  });

  it('--port, --host, --data and --styles start a real server', async () => {
    const port = await freePort();
    const child = spawnMeridian(['--port', String(port), '--host', '127.0.0.1', '--data', data, '--styles', SAMPLE_STYLES], { PORT: '1' });
    try {
      const listening = await child.waitForLog((l) => l.msg === 'listening');
      assert.equal(listening.url, `http://127.0.0.1:${port}`);
      assert.equal((await (await fetch(`${listening.url}/api/resource/6`)).json() as { resource: { keyname: string } }).resource.keyname, 'routes');
    } finally {
      child.proc.kill('SIGINT');
      assert.equal(await child.exited, 0);
    }
  });

  it('seedConcurrency 0 in the configuration file turns seeding off, as MERIDIAN_SEED_CONCURRENCY=0 does', async () => {
    const file = join(data, 'config.json');
    writeFileSync(file, JSON.stringify({ seedConcurrency: 0 }));
    const password = 'settings-admin-1';
    const child = await startMeridian(['--config', file, '--data', data, '--styles', SAMPLE_STYLES],
      { MERIDIAN_ADMIN_PASSWORD: password, MERIDIAN_PASSWORD_COST: '10', MERIDIAN_WORKERS: '2' });
    try {
      const headers = { authorization: `Basic ${Buffer.from(`administrator:${password}`).toString('base64')}` };
      const get = async (path: string) => (await fetch(`${child.url}/farm/api/v3${path}`, { headers })).json() as Promise<any>;
      assert.equal((await get('/settings')).seed_concurrency, 0);
      assert.deepEqual((await get('/workers')).workers.map((w: { status: string }) => w.status), ['offline', 'offline']);
    } finally {
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited, 0);
    }
  });

  it('a bad setting stops start-up with one line', async () => {
    for (const [args, message] of [[['--port', 'eighty'], /--port must be a port number/], [['--colour'], /Unknown option '--colour'/]] as const) {
      const child = spawnMeridian([...args]);
      assert.equal(await child.exited, 2);
      assert.match(child.stderr(), message);
      assert.equal(child.stderr().trim().split('\n').length, 1, child.stderr());
    }
  });
});

describe('broken catalogs stop start-up with one clear message', () => {
  let root: string;
  before(() => { root = mkdtempSync(join(tmpdir(), 'meridian-catalogs-')); });
  after(() => rmSync(root, { recursive: true, force: true }));

  const layer = { id: 1, cls: 'vector_layer', parent: 0, display_name: 'L', keyname: 'l', source: 'l.geojson' };
  const cases: [string, string | object, RegExp][] = [
    ['invalid JSON', '{"resources": [', /catalog\.json: not valid JSON/],
    ['no resources list', { layers: [] }, /must be \{"resources": \[\.\.\.\]\}/],
    ['duplicate id', { resources: [layer, { ...layer, keyname: 'm' }] }, /resource 1: duplicate id/],
    ['duplicate keyname', { resources: [layer, { ...layer, id: 2 }] }, /resource 2: keyname "l" is already used by resource 1/],
    ['unknown parent', { resources: [{ ...layer, parent: 7 }] }, /resource 1: unknown parent 7/],
    ['unknown cls', { resources: [{ ...layer, cls: 'raster_thing' }] }, /resource 1: unknown cls "raster_thing"/],
    ['style under a group', { resources: [{ id: 1, cls: 'resource_group', parent: 0, display_name: 'G' },
      { id: 2, cls: 'qgis_vector_style', parent: 1, display_name: 'S', qml: 'a.qml' }] }, /resource 2: a style's parent must be a layer/],
    ['layer under a layer', { resources: [layer, { ...layer, id: 2, keyname: 'm', parent: 1 }] }, /resource 2: parent 1 is a vector_layer/],
    ['source escaping the data folder', { resources: [{ ...layer, source: '../../etc/passwd' }] }, /resource 1: source "\.\.\/\.\.\/etc\/passwd" leads outside its folder/],
    ['absolute source', { resources: [{ ...layer, source: '/etc/passwd' }] }, /resource 1: source "\/etc\/passwd" must be a relative path/],
    ['source through a symlink out', { resources: [{ ...layer, source: 'out/passwd' }] }, /resource 1: source "out\/passwd" leads outside its folder/],
    ['qml escaping the styles folder', { resources: [layer, { id: 2, cls: 'qgis_vector_style', parent: 1, display_name: 'S', qml: '../secret.qml' }] },
      /resource 2: qml "\.\.\/secret\.qml" leads outside its folder/],
    ['layer without source', { resources: [{ ...layer, source: undefined }] }, /resource 1: a vector_layer needs a "source"/],
    ['missing display_name', { resources: [{ ...layer, display_name: '' }] }, /resource 1: "display_name" is required/],
    ['negative id', { resources: [{ ...layer, id: -4 }] }, /resource -4: "id" must be a non-negative integer/],
  ];

  /** A data folder holding `catalog` as its catalog.json. */
  function folderWith(what: string, catalog: string | object): string {
    const dir = mkdtempSync(join(root, 'c-'));
    writeFileSync(join(dir, 'catalog.json'), typeof catalog === 'string' ? catalog : JSON.stringify(catalog));
    if (what.includes('symlink')) symlinkSync('/etc', join(dir, 'out'));
    return dir;
  }

  for (const [what, catalog, message] of cases) {
    it(`${what}: a CatalogError naming the entry`, () => {
      const dir = folderWith(what, catalog);
      assert.throws(() => Catalog.read(dir, join(dir, 'styles')), (e: Error) => e instanceof CatalogError && message.test(e.message));
    });
  }

  it('from the command line: exit code 1, one line on stderr, no stack trace', async () => {
    for (const [what, catalog, message] of [cases[0], cases[8]]) {
      const child = spawnMeridian(['--port', '0', '--data', folderWith(what, catalog)]);
      assert.equal(await child.exited, 1, what);
      const stderr = child.stderr();
      assert.match(stderr, /^meridian: catalog error: /, what);
      assert.match(stderr, message, what);
      assert.equal(stderr.trim().split('\n').length, 1, `${what}: one line, got ${stderr}`);
      assert.doesNotMatch(stderr, /\n\s+at /, `${what}: no stack trace`);
    }
  });

  it('a port taken: exit code 1 and one line naming the setting to change', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = String((taken.address() as { port: number }).port);
    try {
      const data = fixtureData();
      for (const [args, env, setting] of [
        [['--port', port], {}, /choose another with PORT or --port\n$/],
        [['--port', '0'], { MERIDIAN_MANAGEMENT_PORT: port }, /the management port: MERIDIAN_MANAGEMENT_PORT \(a port, or off\)\n$/],
      ] as const) {
        const child = spawnMeridian([...args, '--host', '127.0.0.1', '--data', data], { ...env });
        assert.equal(await child.exited, 1);
        assert.match(child.stderr(), new RegExp(`^meridian: port ${port} is already in use; `));
        assert.match(child.stderr(), setting);
      }
    } finally {
      taken.close();
    }
  });

  it('a missing catalog.json is named too', async () => {
    const child = spawnMeridian(['--port', '0', '--data', join(root, 'nowhere')]);
    assert.equal(await child.exited, 1);
    assert.match(child.stderr(), /^meridian: catalog error: .*nowhere\/catalog\.json: cannot be read\n$/);
  });
});

describe('a running server', () => {
  let dir: string;
  before(() => {
    // 20,000 points with long notes (~20 MB): more than the socket buffers hold, so a download is
    // still in flight when the signal comes.
    dir = mkdtempSync(join(tmpdir(), 'meridian-shutdown-'));
    const note = 'n'.repeat(1000);
    const features = Array.from({ length: 20_000 }, (_, i) =>
      ({ type: 'Feature', properties: { n: i, label: `point ${i}`, note }, geometry: { type: 'Point', coordinates: [i / 1000, i / 2000] } }));
    writeFileSync(join(dir, 'points.geojson'), JSON.stringify({ type: 'FeatureCollection', features }));
    writeFileSync(join(dir, 'catalog.json'), JSON.stringify({ resources: [
      { id: 1, cls: 'vector_layer', parent: 0, display_name: 'Points', keyname: 'points', source: 'points.geojson' }] }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('logs one structured line per request: method, path, status, bytes, ms, request id', async () => {
    const logData = fixtureData();
    const server = await startMeridian(['--data', logData]);
    try {
      const res = await fetch(`${server.url}/api/resource/4/geojson?srs=3857`, { headers: { 'X-Request-Id': 'log-test-1' } });
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.headers.get('x-request-id'), 'log-test-1');
      const line = await server.waitForLog((l) => l.msg === 'request' && l.id === 'log-test-1', 5000);
      assert.equal(line.method, 'GET');
      assert.equal(line.path, '/api/resource/4/geojson');
      assert.equal(line.status, 200);
      assert.equal(line.bytes, body.length);
      assert.ok(typeof line.ms === 'number' && line.ms >= 0);
      assert.equal(typeof line.time, 'string');
      const missing = await fetch(`${server.url}/api/resource/404`);
      const id = missing.headers.get('x-request-id');
      assert.match(id!, /^[0-9a-f-]{36}$/, 'a generated request id');
      const err = await server.waitForLog((l) => l.msg === 'request' && l.id === id, 5000);
      assert.deepEqual([err.status, err.bytes], [404, Buffer.byteLength(await missing.text())]);
    } finally {
      server.proc.kill('SIGTERM');
      await server.exited;
      rmSync(logData, { recursive: true, force: true });
    }
  });

  it('SIGTERM during a slow download: no new connections, the download completes, then exit 0', async () => {
    const server = await startMeridian(['--data', dir]);
    await server.waitForLog((l) => l.msg === 'layer loaded');
    const res = await fetch(`${server.url}/api/resource/1/geojson`);
    const reader = res.body!.getReader();
    const chunks: Uint8Array[] = [];
    const first = await reader.read();
    chunks.push(first.value!);
    server.proc.kill('SIGTERM');
    await server.waitForLog((l) => /shutting down/.test(l.msg), 5000);
    await assert.rejects(fetch(`${server.url}/api/resource/1`), 'a new connection is refused once shutting down');
    // Read the rest slowly: the server must wait for us.
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      chunks.push(r.value);
      if (chunks.length % 20 === 0) await new Promise((t) => setTimeout(t, 10));
    }
    const doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    assert.equal(doc.features.length, 20_000);
    assert.equal(doc.features[19_999].properties.label, 'point 19999');
    assert.equal(await server.exited, 0);
    const order = (match: (l: Record<string, any>) => boolean) => server.logs.findIndex(match);
    const shutdown = order((l) => /shutting down/.test(l.msg));
    const download = order((l) => l.msg === 'request' && l.path === '/api/resource/1/geojson');
    assert.ok(shutdown >= 0 && download > shutdown, 'the download was still in flight when the signal came');
    assert.equal(server.logs[download].status, 200);
    assert.ok(order((l) => l.msg === 'stopped') > download);
  });
});
