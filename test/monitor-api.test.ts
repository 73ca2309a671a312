// The monitoring API's shapes: roots, fields=, Glances lookups, keyvals and the denylist, and
// every error code, in nginx's error object.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { taskModule } from '../src/pool/pool.js';
import { PUBLIC_MONITOR, settledZone, WRITABLE_MONITOR } from './helpers/monitor.js';
import { rawRequest } from './helpers/raw-http.js';
import { ADMIN, AUTH_ENV, authServer, basic, createUser } from './helpers/auth.js';
import { startServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

function assertError(res: { status: number; body: any }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.status, status);
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.text, 'string');
  assert.equal(typeof res.body.request_id, 'string');
  assert.match(res.body.href, /^https:\/\//);
}

describe('monitoring API with writes enabled', () => {
  let s: TestServer;
  before(async () => { s = await startServer({ env: { ...WRITABLE_MONITOR, ...AUTH_ENV } }); });
  after(() => s.stop());
  // Writes need an administrator, public reads or not (tested under "monitoring access").
  const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = JSON_HEADERS) =>
    s.json(path, { method, headers: { ...ADMIN, ...headers }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });

  it('lists versions and root endpoints, and describes the server', async () => {
    assert.deepEqual((await s.json('/monitor/')).body, [1]);
    const root = (await s.json('/monitor/1/')).body;
    for (const name of ['server', 'processes', 'connections', 'http', 'status', 'pluginslist', 'cpu', 'processlist']) assert.ok(root.includes(name), name);
    assert.deepEqual((await s.json('/monitor/1/http/')).body, ['requests', 'server_zones', 'caches', 'keyvals']);
    for (const path of ['/monitor', '/monitor/1', '/monitor/1/http', '/monitor/1/http/keyvals']) {
      assert.deepEqual((await s.json(path)).body, (await s.json(`${path}/`)).body, `${path} with or without the slash`);
    }
    const server = (await s.json('/monitor/1/server')).body;
    assert.equal(server.pid, process.pid);
    assert.equal(server.ppid, process.ppid);
    assert.equal(server.version, '0.1.0');
    assert.equal(server.address, '127.0.0.1');
    assert.ok(Date.parse(server.load_timestamp) <= Date.parse(server.timestamp));
  });

  it('has one server zone per API area, and fields= narrows objects and collections', async () => {
    const zones = (await s.json('/monitor/1/http/server_zones/')).body;
    assert.deepEqual(Object.keys(zones), ['resource', 'feature', 'tiles', 'render', 'identify', 'auth', 'management', 'monitor']);
    const names = (await s.json('/monitor/1/http/server_zones/?fields=')).body;
    assert.deepEqual(names, Object.fromEntries(Object.keys(zones).map((z) => [z, {}])));
    const some = (await s.json('/monitor/1/http/server_zones/?fields=requests,sent')).body;
    for (const z of Object.values(some)) assert.deepEqual(Object.keys(z as object), ['requests', 'sent']);
    assert.deepEqual(Object.keys((await s.json('/monitor/1/http/server_zones/feature?fields=responses')).body), ['responses']);
    assert.deepEqual(Object.keys((await s.json('/monitor/1/server?fields=pid,version')).body), ['pid', 'version']);
    const procs = (await s.json('/monitor/1/processlist?fields=pid,role')).body;
    assert.deepEqual(procs[0], { pid: process.pid, role: 'main' });
    assertError(await s.json('/monitor/1/server?fields=pid,nonsense'), 400, 'UnknownField');
    // Names every object has are no fields.
    for (const name of ['constructor', '__proto__', 'toString']) assertError(await s.json(`/monitor/1/server?fields=${name}`), 400, 'UnknownField');
  });

  it('serves the Glances plugins, their fields and items by field value', async () => {
    const plugins = (await s.json('/monitor/1/pluginslist')).body;
    assert.deepEqual(plugins, ['cpu', 'mem', 'load', 'uptime', 'now', 'processlist', 'pool', 'layers', 'tiles']);
    const status = await s.get('/monitor/1/status');
    assert.equal(status.status, 200);
    assert.equal(await status.text(), '');
    const cpu = (await s.json('/monitor/1/cpu')).body;
    assert.ok(cpu.total >= 0 && cpu.total <= 100 && cpu.cpucore >= 1);
    const mem = (await s.json('/monitor/1/mem')).body;
    assert.ok(mem.total > 0 && mem.used > 0 && mem.used <= mem.total);
    assert.equal((await s.json('/monitor/1/load')).body.min1 >= 0, true);
    assert.ok((await s.json('/monitor/1/uptime')).body.process >= 0);
    assert.ok(Math.abs(Date.parse((await s.json('/monitor/1/now')).body.iso) - Date.now()) < 5000);
    assert.deepEqual((await s.json('/monitor/1/mem/total')).body, { total: mem.total });

    const main = (await s.json('/monitor/1/processlist')).body.find((p: any) => p.role === 'main');
    assert.equal(main.pid, process.pid);
    assert.ok(main.memory > 0);
    const pool = (await s.json('/monitor/1/pool')).body;
    assert.equal((await s.json('/monitor/1/processlist')).body.length, 1 + pool.num_workers);
    const pids = (await s.json('/monitor/1/processlist/pid')).body;
    assert.ok(pids.pid.includes(process.pid));
    const byPid = (await s.json(`/monitor/1/processlist/pid/${process.pid}`)).body;
    assert.ok(byPid[process.pid].some((p: any) => p.role === 'main'));

    const layers = (await s.json('/monitor/1/layers')).body;
    assert.deepEqual(layers.map((l: any) => l.id), [2, 6, 9, 11]);
    assert.equal(layers.find((l: any) => l.id === 2).features, 177);
    const ready = (await s.json('/monitor/1/layers/status/ready')).body;
    assert.equal(ready.ready.length, layers.filter((l: any) => l.status === 'ready').length);
    assert.deepEqual((await s.json('/monitor/1/layers/geometry_type/LINESTRING')).body.LINESTRING.map((l: any) => l.id), [6]);
    const tiles = (await s.json('/monitor/1/tiles')).body;
    assert.equal(typeof tiles.cache_hit, 'number');

    assertError(await s.json('/monitor/1/nonsense'), 404, 'PathNotFound');
    assertError(await s.json('/monitor/1/cpu/nonsense'), 404, 'FieldNotFound');
    for (const path of ['/monitor/1/cpu/constructor', '/monitor/1/processlist/hasOwnProperty']) assertError(await s.json(path), 404, 'FieldNotFound');
    assertError(await s.json('/monitor/1/layers/id/999'), 404, 'ItemNotFound');
  });

  it('adds, reads, changes and empties keyval zones as nginx does', async () => {
    assert.deepEqual((await s.json('/monitor/1/http/keyvals/')).body, { denylist: {} });
    assert.equal((await send('POST', '/monitor/1/http/keyvals/denylist', { '10.0.0.1': 'scraper', '10.0.0.2': 'bot' })).status, 201);
    assert.deepEqual((await s.json('/monitor/1/http/keyvals/denylist')).body, { '10.0.0.1': 'scraper', '10.0.0.2': 'bot' });
    assert.deepEqual((await s.json('/monitor/1/http/keyvals/denylist?key=10.0.0.2')).body, { '10.0.0.2': 'bot' });
    assertError(await send('POST', '/monitor/1/http/keyvals/denylist', { '10.0.0.1': 'again' }), 409, 'KeyvalKeyExists');
    assert.equal((await send('PATCH', '/monitor/1/http/keyvals/denylist', { '10.0.0.1': 'crawler', '10.0.0.2': null })).status, 204);
    assert.deepEqual((await s.json('/monitor/1/http/keyvals/denylist')).body, { '10.0.0.1': 'crawler' });
    assertError(await s.json('/monitor/1/http/keyvals/denylist?key=10.0.0.2'), 404, 'KeyvalKeyNotFound');
    assertError(await send('PATCH', '/monitor/1/http/keyvals/denylist', { '10.0.0.9': 'x' }), 404, 'KeyvalKeyNotFound');
    assert.equal((await send('DELETE', '/monitor/1/http/keyvals/denylist')).status, 204);
    assert.deepEqual((await s.json('/monitor/1/http/keyvals/denylist')).body, {});
    assert.deepEqual((await s.json('/monitor/1/http/keyvals/?fields=')).body, { denylist: {} });
    // One spelling per address, as a client's socket gives it.
    const spellings = { '0:0:0:0:0:0:0:1': 'a', 'FE80::1%eth0': 'b', '0:0:0:0:0:ffff:7f00:2': 'c', '2001:DB8:0:0::1': 'd' };
    assert.equal((await send('POST', '/monitor/1/http/keyvals/denylist', spellings)).status, 201);
    assert.deepEqual((await s.json('/monitor/1/http/keyvals/denylist')).body, { '::1': 'a', 'fe80::1': 'b', '127.0.0.2': 'c', '2001:db8::1': 'd' });
    assertError(await send('POST', '/monitor/1/http/keyvals/denylist', { '::1': 'again' }), 409, 'KeyvalKeyExists');
    assert.equal((await send('DELETE', '/monitor/1/http/keyvals/denylist')).status, 204);
  });

  it('refuses bad keyval bodies with KeyvalFormatError and non-JSON with JsonError', async () => {
    const path = '/monitor/1/http/keyvals/denylist';
    assertError(await send('POST', path, { 'not-an-address': 'x' }), 400, 'KeyvalFormatError');
    assertError(await send('POST', path, { '10.0.0.1': 5 }), 400, 'KeyvalFormatError');
    assertError(await send('POST', path, ['10.0.0.1']), 400, 'KeyvalFormatError');
    assertError(await send('POST', path, {}), 400, 'KeyvalFormatError');
    assertError(await send('POST', path, { '10.0.0.1': null }), 400, 'KeyvalFormatError');
    assertError(await send('POST', path, '{"10.0.0.1": '), 415, 'JsonError');
    assertError(await send('POST', path, '10.0.0.1=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'JsonError');
    assertError(await send('PATCH', path, 'plain', { 'content-type': 'text/plain' }), 415, 'JsonError');
    assertError(await send('POST', path, { '10.0.0.1': 'x'.repeat(70_000) }), 413, 'RequestEntityTooLarge');
    assert.deepEqual((await s.json(path)).body, {}, 'nothing was stored');
  });

  it('refuses a denylisted client address on every endpoint until it is taken out', async () => {
    const path = '/monitor/1/http/keyvals/denylist';
    assert.equal((await s.get('/api/resource/2')).status, 200);
    assert.equal((await send('POST', path, { '127.0.0.1': 'the test client' })).status, 201);
    for (const p of ['/api/resource/2', '/api/resource/2/feature_count', '/monitor/1/server', '/metrics']) {
      const res = await s.json(p);
      assert.equal(res.status, 403, p);
    }
    assert.equal((await s.json('/api/resource/2')).body.code, 'ADDRESS_DENIED');
    assertError(await s.json('/monitor/1/server'), 403, 'ADDRESS_DENIED');
    assert.equal((await send('PATCH', path, { '127.0.0.1': null })).status, 204);
    assert.equal((await s.get('/api/resource/2')).status, 200);
    assert.equal((await s.get('/monitor/1/server')).status, 200);
  });

  it('answers nginx error codes for unknown zones, caches, versions, paths and methods', async () => {
    assertError(await s.json('/monitor/1/http/server_zones/nope'), 404, 'ServerZoneNotFound');
    assertError(await send('DELETE', '/monitor/1/http/server_zones/nope'), 404, 'ServerZoneNotFound');
    assertError(await s.json('/monitor/1/http/caches/nope'), 404, 'CacheNotFound');
    assertError(await send('DELETE', '/monitor/1/http/caches/nope'), 404, 'CacheNotFound');
    assertError(await s.json('/monitor/1/http/keyvals/nope'), 404, 'KeyvalNotFound');
    assertError(await send('POST', '/monitor/1/http/keyvals/nope', { a: 'b' }), 404, 'KeyvalNotFound');
    assertError(await s.json('/monitor/7/server'), 404, 'UnknownVersion');
    assertError(await s.json('/monitor/1/http/nothing/here'), 404, 'PathNotFound');
    assertError(await send('DELETE', '/monitor/1/server'), 405, 'MethodNotSupported');
  });

  it('reports the tile cache: misses, hits and bypasses with their bytes, and resets them', async () => {
    const cache = async () => (await s.json('/monitor/1/http/caches/tiles')).body;
    assert.deepEqual(Object.keys((await s.json('/monitor/1/http/caches/')).body), ['tiles', 'tile-store']);
    const store = async () => (await s.json('/monitor/1/http/caches/tile-store')).body;
    const storeBefore = await store();
    const before = await cache();
    // Countries and parallels at z1: cut in the worker pool, so the live path stores it (a tile
    // made on the main thread would not be: see README, Tile store and seeding).
    const tile = '/api/component/feature_layer/mvt?resource=2,6&z=1&x=1&y=0';
    const first = await rawRequest(s.url + tile), second = await rawRequest(s.url + tile);
    const bypass = await rawRequest(s.url + tile, { headers: { ...ADMIN, 'cache-control': 'no-cache' } });
    assert.deepEqual([first.status, second.status, bypass.status], [200, 200, 200]);
    assert.ok(first.body.length > 0);
    await settledZone(s, 'tiles');
    const after = await cache();
    const moved = (k: 'hit' | 'miss' | 'bypass') => [after[k].responses - before[k].responses, after[k].bytes - before[k].bytes];
    assert.deepEqual(moved('miss'), [1, first.body.length]);
    assert.deepEqual(moved('hit'), [1, second.body.length]);
    assert.deepEqual(moved('bypass'), [1, bypass.body.length]);
    assert.ok(after.size > before.size && after.size <= after.max_size);
    // Only the memory miss asked the disk store (a miss there too: the tile was then written).
    await until(async () => (await store()).size !== storeBefore.size); // the answer does not wait for the store's write
    const storeAfter = await store();
    assert.deepEqual([storeAfter.miss.responses - storeBefore.miss.responses, storeAfter.hit.responses - storeBefore.hit.responses], [1, 0]);
    assert.equal(storeAfter.size - storeBefore.size, first.body.length);
    const plugin = (await s.json('/monitor/1/tiles')).body;
    // The plugin tells the memory cache and the disk store apart.
    assert.deepEqual([plugin.cache_hit, plugin.cache_miss, plugin.cache_bypass, plugin.cache_size, plugin.cache_max_size],
      [after.hit.responses, after.miss.responses, after.bypass.responses, after.size, after.max_size]);
    assert.deepEqual([plugin.store_hit, plugin.store_miss, plugin.store_size, plugin.store_max_size],
      [storeAfter.hit.responses, storeAfter.miss.responses, storeAfter.size, storeAfter.max_size]);

    assert.equal((await s.get('/monitor/1/http/caches/tiles', { method: 'DELETE', headers: ADMIN })).status, 204);
    const reset = await cache();
    assert.deepEqual([reset.hit, reset.miss, reset.bypass], [{ responses: 0, bytes: 0 }, { responses: 0, bytes: 0 }, { responses: 0, bytes: 0 }]);
    assert.equal(reset.size, after.size, 'a reset leaves the cached tiles alone');
    await rawRequest(s.url + tile);
    await settledZone(s, 'tiles');
    assert.deepEqual((await cache()).hit, { responses: 1, bytes: second.body.length });
  });

  it('lists the pool workers in processlist and pool', async () => {
    const pool = (await s.json('/monitor/1/pool')).body;
    assert.equal(pool.num_workers, s.services.pool.stats().size);
    assert.ok(pool.num_workers >= 1);
    const list = (await s.json('/monitor/1/processlist')).body;
    assert.equal(list.length, 1 + pool.num_workers);
    const workers = (await s.json('/monitor/1/processlist/role/worker')).body.worker;
    assert.deepEqual(workers.map((w: any) => w.thread_id).sort(), s.services.pool.stats().workers.map((w) => w.threadId).sort());
  });

  it('counts a crashed pool worker as respawned, and DELETE resets the count', async () => {
    s.services.pool.register('fixture', taskModule('./fixtures/pool-tasks.js', import.meta.url));
    const before = (await s.json('/monitor/1/processes')).body.respawned;
    const threadsBefore = (await s.json('/monitor/1/processlist/role/worker')).body.worker.map((w: any) => w.thread_id);
    await assert.rejects(s.services.pool.run('fixture', { action: 'crash' }));
    assert.equal((await s.json('/monitor/1/processes')).body.respawned, before + 1);
    assert.equal((await s.json('/monitor/1/pool')).body.respawned, before + 1);
    const threadsAfter = (await s.json('/monitor/1/processlist/role/worker')).body.worker.map((w: any) => w.thread_id);
    assert.equal(threadsAfter.length, threadsBefore.length);
    assert.equal(threadsAfter.filter((t: number) => !threadsBefore.includes(t)).length, 1, 'one new worker thread');
    assert.equal((await s.get('/monitor/1/processes', { method: 'DELETE', headers: ADMIN })).status, 204);
    assert.equal((await s.json('/monitor/1/processes')).body.respawned, 0);
  });

  it('counts pool tasks whose askers had gone: dropped while queued, stopped while running', async () => {
    const { pool } = s.services;
    pool.register('fixture', taskModule('./fixtures/pool-tasks.js', import.meta.url));
    const before = (await s.json('/monitor/1/pool')).body.abandoned;
    const client = new AbortController();
    // One more than there are workers: every worker spins and one task waits.
    const tasks = Array.from({ length: pool.stats().size + 1 }, () =>
      pool.run('fixture', { action: 'spin', ms: 30_000 }, { signal: client.signal }).catch((e: unknown) => e));
    await until(() => pool.stats().workers.every((w) => w.busy) && pool.stats().queued === 1);
    client.abort(new Error('gone'));
    await Promise.all(tasks);
    const after = (await s.json('/monitor/1/pool')).body.abandoned;
    assert.deepEqual(after, { queued: before.queued + 1, running: before.running + pool.stats().size });
    const metrics = await (await s.get('/metrics')).text();
    assert.match(metrics, new RegExp(`^meridian_pool_abandoned_total\\{when="running"\\} ${after.running}$`, 'm'));
    assert.match(metrics, new RegExp(`^meridian_pool_abandoned_total\\{when="queued"\\} ${after.queued}$`, 'm'));
  });
});

describe('monitoring API with writes disabled (the default)', () => {
  let s: TestServer;
  before(async () => { s = await startServer({ env: PUBLIC_MONITOR }); });
  after(() => s.stop());

  it('refuses every write with MethodDisabled and changes nothing', async () => {
    for (const [method, path] of [['DELETE', '/monitor/1/http/server_zones/resource'], ['DELETE', '/monitor/1/connections'],
      ['DELETE', '/monitor/1/http/requests'], ['DELETE', '/monitor/1/processes'], ['DELETE', '/monitor/1/http/keyvals/denylist'],
      ['POST', '/monitor/1/http/keyvals/denylist'], ['PATCH', '/monitor/1/http/keyvals/denylist']]) {
      assertError(await s.json(path, { method, headers: JSON_HEADERS, body: method === 'DELETE' ? undefined : '{"127.0.0.1":"x"}' }), 405, 'MethodDisabled');
    }
    assert.deepEqual((await s.json('/monitor/1/http/keyvals/denylist')).body, {});
    assert.equal((await s.get('/api/resource/2')).status, 200);
  });
});

describe('monitoring access', () => {
  let s: TestServer;
  before(async () => { s = await authServer(); });
  after(() => s.stop());

  it('lets only administrators read /monitor and /metrics unless it is public', async () => {
    await createUser(s, 'alice', 'alice-secret-1');
    for (const path of ['/monitor/1/server', '/monitor/1/http/server_zones/', '/monitor/1/cpu', '/metrics']) {
      assert.equal((await s.get(path)).status, 401, `${path} as guest`);
      assert.equal((await s.get(path, { headers: basic('alice', 'alice-secret-1') })).status, 403, `${path} as a user`);
      assert.equal((await s.get(path, { headers: ADMIN })).status, 200, `${path} as administrator`);
    }
    assertError(await s.json('/monitor/1/server'), 401, 'UNAUTHORIZED');
  });
});

describe('monitoring writes when reads are public', () => {
  let s: TestServer;
  before(async () => { s = await authServer({ env: WRITABLE_MONITOR }); });
  after(() => s.stop());

  it('keeps every write to administrators: nobody else empties counters or edits the denylist', async () => {
    await createUser(s, 'alice', 'alice-secret-1');
    const denylist = '/monitor/1/http/keyvals/denylist';
    assert.equal((await s.json(denylist, { method: 'POST', headers: { ...JSON_HEADERS, ...ADMIN }, body: '{"10.0.0.1":"kept"}' })).status, 201);
    await s.get('/api/resource/2');
    const requests = (await s.json('/monitor/1/http/server_zones/resource')).body.requests;
    for (const [who, headers, status] of [['guest', {}, 401], ['a user', basic('alice', 'alice-secret-1'), 403]] as const) {
      const writes: [string, string, string?][] = [['POST', denylist, '{"127.0.0.1":"locked out"}'], ['PATCH', denylist, '{"10.0.0.1":null}'],
        ['DELETE', denylist], ['DELETE', '/monitor/1/http/server_zones/resource'], ['DELETE', '/monitor/1/connections'],
        ['DELETE', '/monitor/1/http/requests'], ['DELETE', '/monitor/1/processes'], ['DELETE', '/monitor/1/http/caches/tiles']];
      for (const [method, path, body] of writes) {
        const res = await s.json(path, { method, headers: { ...JSON_HEADERS, ...headers }, body });
        assertError(res, status, status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN');
      }
      assert.deepEqual((await s.json(denylist)).body, { '10.0.0.1': 'kept' }, `the denylist as ${who} left it`);
    }
    assert.equal((await s.json('/monitor/1/http/server_zones/resource')).body.requests, requests, 'the counters were not reset');
    assert.equal((await s.get('/api/resource/2')).status, 200);
  });
});

describe('monitoring configuration', () => {
  it('mounts the API at a configured path', async () => {
    const s = await startServer({ env: { ...PUBLIC_MONITOR, MERIDIAN_MONITOR_PATH: '/stats' } });
    try {
      assert.deepEqual((await s.json('/stats/')).body, [1]);
      assert.equal((await s.json('/stats/1/http/server_zones/monitor')).body.requests, 2);
      assert.equal((await s.get('/monitor/')).status, 404);
    } finally { await s.stop(); }
  });

  it('serves neither the API nor /metrics when monitoring is off', async () => {
    const s = await startServer({ env: { MERIDIAN_MONITOR: '0' } });
    try {
      assert.equal((await s.json('/monitor/1/')).body.code, 'NOT_FOUND');
      assert.equal((await s.get('/metrics')).status, 404);
      assert.equal((await s.get('/api/resource/2')).status, 200);
    } finally { await s.stop(); }
  });
});
