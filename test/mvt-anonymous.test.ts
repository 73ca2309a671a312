// MVT tiles asked anonymously, answered before Koa (src/routes/mvt-anonymous.ts): the same answer
// Koa gives, cached or made, permissions and the denylist as strict, counted by monitoring;
// credentials, options and plugin filters that want them go through Koa. The sample `hello`
// plugin's filter tags what goes through Koa (X-Meridian-Plugin) and lets anonymous tiles skip it,
// which tells the paths apart; a forged session cookie sends a guest's request through Koa.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ADMIN, authServer, send } from './helpers/auth.js';
import { decode } from './helpers/mvt.js';
import type { TestServer } from './helpers/server.js';

interface Raw { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** A GET with exactly these headers (fetch adds its own, Cache-Control among them). */
function raw(s: TestServer, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    request(s.url + path, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });
}

/** Headers that differ per request or per path taken; everything else must be the same. */
const PER_REQUEST = new Set(['date', 'x-request-id', 'server-timing', 'x-tile-cache', 'x-tile-store', 'x-meridian-plugin', 'connection', 'keep-alive']);
const sameHeaders = (r: Raw) => Object.fromEntries(Object.entries(r.headers).filter(([k]) => !PER_REQUEST.has(k)));
const throughKoa = (r: Raw) => r.headers['x-meridian-plugin'] === 'hello';

const layerNames = (body: Buffer) => Object.keys(decode(body).layers);

describe('anonymous tiles before Koa', () => {
  let s: TestServer;
  // Writes to the monitoring API on, for the denylist.
  before(async () => { s = await authServer({ env: { MERIDIAN_MONITOR_WRITE: '1' } }); });
  after(() => s.stop());

  it('answers a tile as Koa does, made or cached: same bytes and headers, both URL forms, gzip or not', async () => {
    const single = (x: number) => `/api/resource/2/1/${x}/0.mvt`;
    const multi = (x: number) => `/api/component/feature_layer/mvt?resource=2,9&z=1&x=${x}&y=0`;
    // A tile of its own for each case: made by one path, then answered from the cache by the other.
    for (const [path, encoding, layers, koaFirst] of [[single(0), 'identity', ['ngw:2'], true], [single(1), 'gzip', ['ngw:2'], false],
      [multi(0), 'gzip', ['ngw:2', 'ngw:9'], true], [multi(1), 'identity', ['ngw:2', 'ngw:9'], false]] as const) {
      const plain = { 'accept-encoding': encoding };
      const viaKoa = { ...plain, cookie: 'ngw_sid=forged' };
      const first = await raw(s, path, koaFirst ? viaKoa : plain);
      const second = await raw(s, path, koaFirst ? plain : viaKoa);
      const [fast, koa] = koaFirst ? [second, first] : [first, second];
      assert.deepEqual([first.status, first.headers['x-tile-cache']], [200, 'miss'], path);
      assert.deepEqual([second.status, second.headers['x-tile-cache']], [200, 'hit'], path);
      assert.deepEqual([throughKoa(koa), throughKoa(fast)], [true, false], `${path}: one answer each way`);
      const comparable = (r: Raw) => ({ ...sameHeaders(r), 'x-tile-cache': undefined, 'x-tile-store': undefined });
      assert.deepEqual(comparable(fast), comparable(koa), `${path} (${encoding})`);
      assert.deepEqual(fast.body, koa.body, `${path} (${encoding})`);
      assert.equal(fast.headers['content-encoding'], encoding === 'gzip' ? 'gzip' : undefined);
      assert.deepEqual(layerNames(encoding === 'gzip' ? gunzipSync(fast.body) : fast.body), layers);
      assert.match(String(fast.headers['server-timing']), /^app;dur=[\d.]+$/);
      assert.match(String(fast.headers['x-request-id']), /^[\w-]{36}$/);
    }
    // Asked in the other encoding, a cached tile is answered before Koa too (its gzip made once, then kept).
    const zipped = await raw(s, single(0), { 'accept-encoding': 'gzip' });
    assert.deepEqual([zipped.headers['content-encoding'], zipped.headers['x-tile-cache'], throughKoa(zipped)], ['gzip', 'hit', false]);
    assert.deepEqual(gunzipSync(zipped.body), (await raw(s, single(0))).body);
  });

  it('answers 304 to a matching If-None-Match, 204 for a cached empty tile, and echoes a safe request id', async () => {
    const path = '/api/resource/2/3/2/3.mvt';
    const { headers } = await raw(s, path);
    const revalidated = await raw(s, path, { 'if-none-match': String(headers.etag) });
    assert.deepEqual([revalidated.status, revalidated.body.length, throughKoa(revalidated)], [304, 0, false]);
    // Mid-Pacific: no country near.
    const empty = '/api/resource/2/6/1/30.mvt';
    assert.equal((await raw(s, empty)).status, 204);
    const again = await raw(s, empty, { 'x-request-id': 'trace-42' });
    assert.deepEqual([again.status, again.headers['x-tile-cache'], throughKoa(again), again.headers['x-request-id']], [204, 'hit', false, 'trace-42']);
  });

  it('leaves credentials, tile options and bad addresses to Koa; a cache bypass is an administrator\'s only', async () => {
    const path = '/api/resource/2/1/1/0.mvt';
    await raw(s, path);
    const admin = await raw(s, path, ADMIN);
    assert.ok(throughKoa(admin), 'Basic credentials go through Koa');
    assert.equal(admin.headers['cache-control'], 'private, max-age=3600', 'an answer to a signed-in caller is private');
    assert.ok(throughKoa(await raw(s, path, { cookie: 'ngw_sid=forged' })), 'a session cookie goes through Koa');
    const guestBypass = await raw(s, path, { 'cache-control': 'no-cache', pragma: 'no-cache' });
    assert.deepEqual([throughKoa(guestBypass), guestBypass.headers['x-tile-cache']], [false, 'hit'], 'a guest\'s no-cache is answered from the cache');
    const adminBypass = await raw(s, path, { ...ADMIN, 'cache-control': 'no-cache' });
    assert.equal(adminBypass.headers['x-tile-cache'], 'bypass', 'an administrator\'s no-cache is honoured');
    const multi = '/api/component/feature_layer/mvt?resource=2&z=1&x=1&y=0';
    await raw(s, `${multi}&extent=512`);
    assert.ok(throughKoa(await raw(s, `${multi}&extent=512`)), 'tiles with options go through Koa');
    const optionsBypass = await raw(s, `${multi}&extent=512`, { 'cache-control': 'no-cache' });
    assert.deepEqual([throughKoa(optionsBypass), optionsBypass.headers['x-tile-cache']], [true, 'hit'], 'nor through Koa');
    assert.ok(throughKoa(await raw(s, `${multi}&z=2`)), 'a parameter given twice is Koa\'s to read');
    const bad = await raw(s, '/api/component/feature_layer/mvt?resource=2&z=1&x=9&y=0');
    assert.deepEqual([bad.status, JSON.parse(bad.body.toString()).code], [400, 'INVALID_PARAMETER']);
  });

  it('never answers a tile the guest may not read, however it was cached', async () => {
    const path = '/api/resource/9/2/2/1.mvt';
    assert.equal((await raw(s, path)).status, 200);
    assert.equal((await raw(s, path)).headers['x-tile-cache'], 'hit');
    const deny = { action: 'deny', principal: { keyname: 'guest' }, scope: 'data', permission: 'read', propagate: true };
    assert.equal((await send(s, 'PUT', '/api/resource/9', { resource: { permissions: [deny] } })).status, 200);
    const refused = await raw(s, path);
    assert.deepEqual([refused.status, JSON.parse(refused.body.toString()).status_code], [401, 401]);
    const multi = await raw(s, '/api/component/feature_layer/mvt?resource=2,9&z=1&x=1&y=0');
    assert.equal(multi.status, 401, 'one unreadable layer refuses the whole tile');
    const asAdmin = await raw(s, path, ADMIN);
    assert.deepEqual([asAdmin.status, asAdmin.headers['x-tile-cache']], [200, 'hit']);
    assert.equal((await send(s, 'PUT', '/api/resource/9', { resource: { permissions: [] } })).status, 200);
    const back = await raw(s, path);
    assert.deepEqual([back.status, throughKoa(back)], [200, false]);
  });

  it('refuses a denylisted address on anonymous tiles too', async () => {
    const path = '/api/resource/2/1/1/0.mvt';
    await raw(s, path);
    const denylist = '/monitor/1/http/keyvals/denylist';
    assert.equal((await send(s, 'POST', denylist, { '127.0.0.1': 'the test client' })).status, 201);
    try {
      const refused = await raw(s, path);
      assert.deepEqual([refused.status, JSON.parse(refused.body.toString()).code], [403, 'ADDRESS_DENIED']);
    } finally {
      assert.equal((await send(s, 'PATCH', denylist, { '127.0.0.1': null })).status, 204);
    }
    assert.equal((await raw(s, path)).status, 200);
  });

  it('counts anonymous tiles in the monitoring zones, the tile cache and the tile histogram', async () => {
    const path = '/api/resource/2/2/2/1.mvt';
    await raw(s, path);
    const zone = async () => (await s.json('/monitor/1/http/server_zones/tiles', { headers: ADMIN })).body;
    const hits = async () => (await s.json('/monitor/1/http/caches/tiles', { headers: ADMIN })).body.hit.responses;
    const histogram = async () => Number(/meridian_tile_duration_seconds_count\{zone="tiles"\} (\d+)/.exec(await (await s.get('/metrics', { headers: ADMIN })).text())?.[1]);
    const [z0, h0, n0] = [await zone(), await hits(), await histogram()];
    const answers = await Promise.all(Array.from({ length: 5 }, () => raw(s, path)));
    assert.ok(answers.every((a) => a.status === 200 && !throughKoa(a)), 'all five answered before Koa');
    assert.equal(new Set(answers.map((a) => a.headers['x-request-id'])).size, 5, 'each answer has its own request id');
    // The counters move as each response is written, when the client may just be reading it.
    await new Promise((r) => setTimeout(r, 50));
    const [z1, h1, n1] = [await zone(), await hits(), await histogram()];
    assert.equal(z1.requests - z0.requests, 5);
    assert.equal(z1.responses['2xx'] - z0.responses['2xx'], 5);
    assert.equal(z1.sent - z0.sent, 5 * answers[0].body.length);
    assert.ok(z1.received - z0.received > 5 * path.length, 'request bytes are counted');
    assert.equal(h1 - h0, 5);
    assert.equal(n1 - n0, 5);
  });
});

describe('anonymous tiles and plugin filters', () => {
  let s: TestServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-plugins-'));
    mkdirSync(join(dir, 'audit'));
    writeFileSync(join(dir, 'audit/metadata.txt'), '[general]\nname=audit\nversion=1.0\nserver=True\n');
    writeFileSync(join(dir, 'audit/index.mjs'), "export default (s) => s.filter(async (ctx, next) => { await next(); ctx.set('X-Audited', 'yes'); });\n");
    s = await authServer({ env: { MERIDIAN_PLUGINS: dir } });
  });
  after(async () => { await s.stop(); rmSync(dir, { recursive: true, force: true }); });

  it('runs a filter that keeps the default around anonymous tiles too', async () => {
    const path = '/api/resource/2/1/1/0.mvt';
    const made = await raw(s, path);
    const hit = await raw(s, path);
    assert.deepEqual([made.headers['x-tile-cache'], made.headers['x-audited']], ['miss', 'yes']);
    assert.deepEqual([hit.headers['x-tile-cache'], hit.headers['x-audited']], ['hit', 'yes']);
  });
});
