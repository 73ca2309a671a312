// The administrators' areas (users and groups, the farm API, monitoring and /metrics) are not
// reached by writing their paths another way: another case, a trailing slash. Each variant must
// be refused (401) or unknown (404) to a guest, and change nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN, authServer, send } from './helpers/auth.js';
import type { TestServer } from './helpers/server.js';

const GUEST = {};

describe('administrator-only paths written another way', () => {
  let s: TestServer;
  before(async () => { s = await authServer({ env: { MERIDIAN_MONITOR_WRITE: '1' } }); });
  after(() => s.stop());

  const READS = [
    '/API/component/auth/user/', '/Api/component/auth/group/', '/api/component/AUTH/user/', '/api/component/auth/USER/',
    '/Farm/api/v3/browse', '/farm/API/v3/settings', '/FARM/api/v3/jobs',
    '/MONITOR/1/server', '/Monitor/1/processlist', '/monitor/1/server/', '/metrics/', '/Metrics', '/METRICS/',
  ];

  it('the plain paths are real: an administrator reads them, a guest is refused', async () => {
    for (const path of ['/api/component/auth/user/', '/farm/api/v3/settings', '/monitor/1/server', '/metrics']) {
      assert.equal((await s.get(path, { headers: ADMIN })).status, 200, path);
      assert.equal((await s.get(path)).status, 401, path);
    }
  });

  it("answers wrong credentials in each area's error shape (they are refused before any router runs)", async () => {
    const wrong = { Authorization: `Basic ${Buffer.from('administrator:wrong-password').toString('base64')}` };
    const shapes: [string, (body: any) => boolean][] = [
      ['/monitor/1/server', (b) => b.error?.status === 401 && typeof b.error.code === 'string'],
      ['/pool/', (b) => b.status === 'error' && b.httpcode === 401],
      ['/plugins/', (b) => b.status === 'error' && b.httpcode === 401],
      ['/farm/api/v3/jobs', (b) => b.code === 401 && typeof b.message === 'string'],
      ['/api/resource/1', (b) => b.status_code === 401],
    ];
    for (const [path, shaped] of shapes) {
      const r = await s.json(path, { headers: wrong });
      assert.equal(r.status, 401, path);
      assert.ok(shaped(r.body), `${path}: ${JSON.stringify(r.body)}`);
    }
  });

  it('refuses every variant of a read to a guest', async () => {
    for (const path of READS) {
      const r = await s.get(path);
      assert.ok(r.status === 401 || r.status === 404, `${path}: ${r.status}`);
      assert.match(r.headers.get('content-type') ?? '', /json/, path);
    }
  });

  it('refuses every variant of a write to a guest, and nothing changes', async () => {
    const writes: [string, string, unknown][] = [
      ['POST', '/API/component/auth/user/', { keyname: 'intruder', password: 'intruder-pass', member_of: [] }],
      ['POST', '/Api/component/auth/group/', { keyname: 'intruders' }],
      ['POST', '/Farm/api/v3/settings', { seed_concurrency: 1 }],
      ['POST', '/Farm/api/v3/jobs', { type: 'seed', resources: [2], format: 'mvt', zoom: [0, 1] }],
      ['POST', '/MONITOR/1/http/keyvals/denylist', { '10.0.0.1': '1' }],
      ['POST', '/monitor/1/http/keyvals/denylist/', { '10.0.0.2': '1' }],
      ['DELETE', '/Monitor/1/http/requests', undefined],
    ];
    for (const [method, path, body] of writes) {
      const r = await send(s, method, path, body, GUEST);
      assert.ok(r.status === 401 || r.status === 404, `${method} ${path}: ${r.status}`);
    }
    const users = (await s.json('/api/component/auth/user/', { headers: ADMIN })).body as { keyname: string }[];
    assert.ok(!users.some((u) => u.keyname === 'intruder'));
    const groups = (await s.json('/api/component/auth/group/', { headers: ADMIN })).body as { keyname: string }[];
    assert.ok(!groups.some((g) => g.keyname === 'intruders'));
    assert.deepEqual((await s.json('/farm/api/v3/jobs', { headers: ADMIN })).body, { jobs: [] });
    const denylist = await s.json('/monitor/1/http/keyvals/denylist', { headers: ADMIN });
    assert.deepEqual(denylist.body, {});
  });
});
