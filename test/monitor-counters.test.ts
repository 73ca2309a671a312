// Traffic of a known shape moves the monitoring counters by exactly that much.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ADMIN, AUTH_ENV } from './helpers/auth.js';
import { settledZone, WRITABLE_MONITOR } from './helpers/monitor.js';
import { parsePrometheus, type Exposition } from './helpers/prometheus.js';
import { rawRequest, type RawResponse } from './helpers/raw-http.js';
import { startServer, type TestServer } from './helpers/server.js';

describe('monitoring counters', () => {
  let s: TestServer;
  before(async () => { s = await startServer({ env: { ...WRITABLE_MONITOR, ...AUTH_ENV } }); });
  after(() => s.stop());

  const zone = async (name: string) => (await s.json(`/monitor/1/http/server_zones/${name}`)).body;
  const settled = (name: string) => settledZone(s, name);

  it('counts requests, response classes and codes, received and sent bytes per zone', async () => {
    const resource0 = await settled('resource'), feature0 = await settled('feature');
    const traffic = [
      ...Array(3).fill('/api/resource/2'), ...Array(2).fill('/api/resource/999'),
      ...Array(4).fill('/api/resource/2/feature_count'), '/api/resource/2/feature/?limit=oops',
    ];
    const answers: (RawResponse & { path: string })[] = [];
    for (const path of traffic) answers.push({ path, ...(await rawRequest(s.url + path)) });
    const resource1 = await settled('resource'), feature1 = await settled('feature');

    const inZone = (prefix: RegExp) => answers.filter((a) => prefix.test(a.path));
    const resourceTraffic = inZone(/^\/api\/resource\/\d+$/), featureTraffic = inZone(/feature/);
    const sum = (list: typeof answers, f: (a: (typeof answers)[0]) => number) => list.reduce((n, a) => n + f(a), 0);

    assert.equal(resource1.requests - resource0.requests, 5);
    assert.equal(resource1.responses['2xx'] - resource0.responses['2xx'], 3);
    assert.equal(resource1.responses['4xx'] - resource0.responses['4xx'], 2);
    assert.equal(resource1.responses.codes['404'] - (resource0.responses.codes['404'] ?? 0), 2);
    assert.equal(resource1.responses.total - resource0.responses.total, 5);
    assert.equal(resource1.sent - resource0.sent, sum(resourceTraffic, (a) => a.body.length));
    assert.equal(resource1.received - resource0.received, sum(resourceTraffic, (a) => a.written));

    assert.equal(feature1.requests - feature0.requests, 5);
    assert.equal(feature1.responses['2xx'] - feature0.responses['2xx'], 4);
    assert.equal(feature1.responses.codes['400'] - (feature0.responses.codes['400'] ?? 0), 1);
    assert.equal(feature1.sent - feature0.sent, sum(featureTraffic, (a) => a.body.length));
    assert.equal(feature1.received - feature0.received, sum(featureTraffic, (a) => a.written));
  });

  it('counts its own requests in the monitor zone and every request in http/requests', async () => {
    const before = (await s.json('/monitor/1/http/requests')).body;
    const zone0 = await settled('monitor');
    for (let i = 0; i < 3; i++) await s.get('/monitor/1/status');
    await s.get('/api/resource/2');
    const zone1 = await settled('monitor');
    const after = (await s.json('/monitor/1/http/requests')).body;
    // Each read counts itself as a request but not yet as a response: between two reads, the
    // requests and the 200 responses move by the same amount (3 status requests at least).
    assert.ok(zone1.requests - zone0.requests >= 4);
    assert.equal(zone1.responses.codes['200'] - zone0.responses.codes['200'], zone1.requests - zone0.requests);
    assert.ok(after.total - before.total >= 6);
    assert.equal(after.current, 1, 'only the request asking is in flight');
  });

  it('counts accepted and active connections from the server events', async () => {
    const keep = new Agent({ keepAlive: true, maxSockets: 1 });
    const read = async () => JSON.parse((await rawRequest(`${s.url}/monitor/1/connections`, { agent: keep })).body.toString());
    const before = await read();
    for (let i = 0; i < 3; i++) await rawRequest(`${s.url}/api/resource/2`);
    const after = await read();
    assert.equal(after.accepted - before.accepted, 3);
    assert.ok(after.active >= 1 && after.idle >= 0 && after.idle < after.active);
    keep.destroy();
  });

  it('counts a request the client gave up on as discarded, not as a response', async () => {
    const before = await settled('monitor');
    // A POST that promises a body and never sends it, then hangs up.
    const socket = connect(Number(new URL(s.url).port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write(`POST /monitor/1/http/keyvals/denylist HTTP/1.1\r\nHost: x\r\nAuthorization: ${ADMIN.Authorization}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
    let after = before;
    for (let i = 0; i < 100 && after.discarded === before.discarded; i++) {
      await new Promise((r) => setTimeout(r, 10));
      after = await zone('monitor');
    }
    assert.equal(after.discarded - before.discarded, 1);
    assert.equal(after.responses.codes['201'] ?? 0, before.responses.codes['201'] ?? 0);
    // The zone's own reads are answered meanwhile: every request since `before` but the discarded
    // one counts as a response (settled, each read has only itself in flight).
    const last = await settled('monitor');
    assert.equal(last.discarded - before.discarded, 1);
    assert.equal(last.responses.total - before.responses.total, last.requests - before.requests - 1);
  });

  it('resets a zone, http/requests and connections with DELETE', async () => {
    await rawRequest(`${s.url}/api/resource/2`);
    assert.equal((await s.get('/monitor/1/http/server_zones/resource', { method: 'DELETE', headers: ADMIN })).status, 204);
    const z = await zone('resource');
    assert.deepEqual([z.requests, z.responses.total, z.sent, z.received, z.discarded], [0, 0, 0, 0, 0]);
    assert.deepEqual(z.responses.codes, {});
    assert.ok((await zone('feature')).requests > 0, 'other zones keep their counts');

    assert.equal((await s.get('/monitor/1/http/requests', { method: 'DELETE', headers: ADMIN })).status, 204);
    assert.ok((await s.json('/monitor/1/http/requests')).body.total <= 2);
    assert.equal((await s.get('/monitor/1/connections', { method: 'DELETE', headers: ADMIN })).status, 204);
    const c = (await s.json('/monitor/1/connections')).body;
    assert.ok(c.accepted <= 1 && c.dropped === 0 && c.active >= 1);
    assert.equal((await s.get('/monitor/1/processes', { method: 'DELETE', headers: ADMIN })).status, 204);
    assert.deepEqual((await s.json('/monitor/1/processes')).body, { respawned: 0 });
  });

  it('times tile requests and exposes everything in the Prometheus text format', async () => {
    const scrape = async () => {
      const res = await s.get('/metrics');
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
      return parsePrometheus(await res.text());
    };
    const tileCount = (m: Exposition) => m.value('meridian_tile_duration_seconds_count', { zone: 'tiles' }) ?? 0;
    const m0 = await scrape();
    const tiles0 = await settled('tiles');
    await rawRequest(`${s.url}/api/resource/2/0/0/0.mvt`);
    await rawRequest(`${s.url}/api/component/feature_layer/mvt?resource=2&z=0&x=0&y=0`);
    const tiles1 = await settled('tiles');
    const m1 = await scrape();
    assert.equal(tileCount(m1) - tileCount(m0), 2);
    assert.equal(tiles1.requests - tiles0.requests, 2);

    assert.equal(m1.types.get('meridian_zone_requests_total'), 'counter');
    assert.equal(m1.value('meridian_zone_requests_total', { zone: 'tiles' }), tiles1.requests);
    assert.equal(m1.value('meridian_zone_sent_bytes_total', { zone: 'tiles' }), tiles1.sent);
    const codes = m1.samples.filter((x) => x.name === 'meridian_zone_responses_total' && x.labels.zone === 'tiles');
    assert.equal(codes.reduce((n, x) => n + x.value, 0), tiles1.responses.total);
    for (const name of ['meridian_http_requests_total', 'meridian_connections_accepted_total', 'meridian_connections_active',
      'meridian_pool_workers', 'process_resident_memory_bytes']) {
      assert.ok(m1.value(name) !== undefined, `${name} is exposed`);
    }
    assert.equal(m1.types.get('meridian_tile_duration_seconds'), 'histogram');
    assert.equal(m1.value('meridian_tile_duration_seconds_bucket', { zone: 'tiles', le: '+Inf' }), tileCount(m1));
  });
});
