import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, startServer, type TestServer } from './helpers/server.js';

const GENERAL = (name: string, server = 'True') =>
  `[general]\nname=${name}\nversion=0.1\nauthor=test\ndescription=${name} plugin\nemail=t@example.org\nqgisMinimumVersion=3.0\nserver=${server}\n`;

function plugin(dir: string, name: string, metadata: string | null, entry: string | null) {
  mkdirSync(join(dir, name));
  if (metadata !== null) writeFileSync(join(dir, name, 'metadata.txt'), metadata);
  if (entry !== null) writeFileSync(join(dir, name, 'index.mjs'), entry);
}

describe('server plugins', () => {
  let s: TestServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-plugins-'));
    cpSync(join(ROOT, 'plugins/hello'), join(dir, 'hello'), { recursive: true });
    plugin(dir, 'broken', GENERAL('broken'), "export default function register() { throw new Error('cannot start: no licence'); }\n");
    plugin(dir, 'syntax', GENERAL('syntax'), 'export default function (\n');
    plugin(dir, 'desktop', GENERAL('desktop', 'False'), 'export default function register() {}\n');
    plugin(dir, 'nometa', null, 'export default function register() {}\n');
    // Fails after adding a route: the route must not survive.
    plugin(dir, 'halfway', GENERAL('halfway'), "export default function register(s) { s.route('GET', '/halfway', (ctx) => { ctx.body = 1; }); throw new Error('late failure'); }\n");
    s = await startServer({ env: { MERIDIAN_PLUGINS: dir, MERIDIAN_MANAGEMENT_PORT: '0' } });
  });
  after(async () => { await s.stop(); rmSync(dir, { recursive: true, force: true }); });

  it('loads the example plugin: its route answers and its filter runs on other requests', async () => {
    const res = await s.get('/qgis/hello?name=meridian');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { hello: 'meridian', plugin: 'hello', version: '1.0.0' });
    const other = await s.get('/api/resource/0');
    assert.equal(other.status, 200);
    assert.equal(other.headers.get('x-meridian-plugin'), 'hello');
  });

  it('lists every plugin with its status', async () => {
    const res = await fetch(`${s.managementUrl}/plugins/`);
    const body = await res.json() as any;
    const statuses = Object.fromEntries(body.links.map((l: any) => [l.name, l.status]));
    assert.deepEqual(statuses, { broken: 'failed', desktop: 'failed', halfway: 'failed', hello: 'loaded', nometa: 'failed', syntax: 'failed' });
    const hello = body.links.find((l: any) => l.name === 'hello');
    assert.equal(hello.type, 'application/json');
    assert.equal(hello.title, 'Example server plugin: answers GET /qgis/hello and tags responses');
    assert.equal((await (await fetch(hello.href)).json() as any).name, 'hello');
  });

  it('describes a loaded plugin with its metadata', async () => {
    const body = await (await fetch(`${s.managementUrl}/plugins/hello`)).json() as any;
    assert.equal(body.status, 'loaded');
    assert.equal(body.path, join(dir, 'hello/index.mjs'));
    assert.deepEqual(body.metadata.general, {
      name: 'hello', version: '1.0.0', author: 'Meridian', description: 'Example server plugin: answers GET /qgis/hello and tags responses',
      email: '', qgisminimumversion: '3.0', server: 'True',
    });
  });

  it('reports failed plugins with their error log, and keeps nothing they registered', async () => {
    const broken = await (await fetch(`${s.managementUrl}/plugins/broken`)).json() as any;
    assert.deepEqual(Object.keys(broken).sort(), ['error_log', 'name', 'status']);
    assert.equal(broken.status, 'failed');
    assert.match(broken.error_log, /cannot start: no licence/);
    assert.match((await (await fetch(`${s.managementUrl}/plugins/desktop`)).json() as any).error_log, /not a server plugin/);
    assert.match((await (await fetch(`${s.managementUrl}/plugins/nometa`)).json() as any).error_log, /metadata\.txt/);
    assert.match((await (await fetch(`${s.managementUrl}/plugins/syntax`)).json() as any).error_log, /SyntaxError/);
    assert.equal((await s.get('/qgis/halfway')).status, 404);
  });

  it('answers 404 for an unknown plugin in py-qgis-server shape', async () => {
    const res = await fetch(`${s.managementUrl}/plugins/nothing`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { status: 'error', httpcode: 404, error: { message: 'Plugin "nothing" does not exist.' } });
  });
});
