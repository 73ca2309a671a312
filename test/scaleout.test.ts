// Scale-out: two instances over one PostgreSQL (users, sessions, ACLs, seeding jobs) and one Redis
// (tiles). Both servers are this file's own (helpers/killable.ts), killed with SIGKILL mid-test and
// started again. Needs the Debian packages postgresql and redis-server (.ci/run installs them).
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { contentDigest, sourceStamp } from '../src/store/source-files.js';
import { ADMIN, AUTH_ENV, authServer, basic, createUser, send } from './helpers/auth.js';
import { farm, sleepWorkers, waitForJob } from './helpers/farm.js';
import { PUBLIC_MONITOR } from './helpers/monitor.js';
import { decode, features } from './helpers/mvt.js';
import { freePort, KillablePostgres, KillableRedis, KILLABLE_SKIP } from './helpers/killable.js';
import { spawnMeridian } from './helpers/child.js';
import { startServer, tempData, type TestServer } from './helpers/server.js';


/** Asks until `check` passes (a change travelling between instances takes a moment), or fails with its last error. */
async function eventually(check: () => Promise<void>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try { return await check(); } catch (e) { if (Date.now() > until) throw e; }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('several instances sharing PostgreSQL and Redis', { skip: KILLABLE_SKIP }, () => {
  let postgres: KillablePostgres;
  let redis: KillableRedis;
  let a: TestServer;
  let b: TestServer;
  let env: Record<string, string>;

  before(async () => {
    [postgres, redis] = await Promise.all([KillablePostgres.create(), KillableRedis.create()]);
    env = {
      MERIDIAN_DATABASE_URL: postgres.url, MERIDIAN_REDIS_URL: redis.url,
      MERIDIAN_DATABASE_TIMEOUT_MS: '1000', MERIDIAN_WORKERS: '1',
      // As behind deploy/nginx.conf.
      MERIDIAN_TRUST_PROXY: '1',
      MERIDIAN_MONITOR: '1', ...PUBLIC_MONITOR,
    };
    // Started together: the schema lock makes one migrate and create the built-in users.
    [a, b] = await Promise.all([authServer({ env }), authServer({ env })]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([postgres?.stop(), redis?.stop()]);
  });

  /** One query on a connection of its own (the server is killed later, so none is kept open). */
  async function query(text: string) {
    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    try { return await db.query(text); } finally { await db.end(); }
  }

  const login = (s: TestServer, keyname: string, password: string, headers: Record<string, string> = {}) => s.get('/api/component/auth/login', {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ login: keyname, password }),
  });
  const currentUser = async (s: TestServer, headers: Record<string, string>) => (await s.json('/api/component/auth/current_user', { headers })).body.keyname;

  it('a user created on one instance logs in on the other, and its session works on both', async () => {
    await createUser(a, 'carol', 'carol-password');
    const res = await login(b, 'carol', 'carol-password');
    assert.equal(res.status, 200);
    const cookie = res.headers.get('set-cookie')!.split(';')[0];
    assert.equal(await currentUser(a, { cookie }), 'carol');
    assert.equal(await currentUser(b, { cookie }), 'carol');
    const rows = await query(`SELECT keyname FROM principal WHERE cls = 'U' ORDER BY id`);
    assert.deepEqual(rows.rows.map((r) => r.keyname).filter((k) => ['administrator', 'guest', 'carol'].includes(k)), ['administrator', 'guest', 'carol'], 'one set of built-in users');
  });

  it('behind the proxy, login throttling counts failures per client address (X-Forwarded-For), not per proxy, on every instance together', async () => {
    const guesser = { 'x-forwarded-for': '203.0.113.7' };
    // Guesses spread over the instances, as a balancer spreads them: counted together.
    for (let i = 0; i < 6; i++) await login(i % 2 ? a : b, 'carol', 'wrong-guess', guesser);
    assert.equal((await login(a, 'carol', 'carol-password', guesser)).status, 429);
    assert.equal((await login(b, 'carol', 'carol-password', guesser)).status, 429, 'the other instance refuses too');
    assert.equal((await login(a, 'carol', 'carol-password', { 'x-forwarded-for': '198.51.100.2' })).status, 200, 'another client is not slowed down');
  });

  it('an ACL set on one instance applies on the other at once (LISTEN/NOTIFY), also to its cached decisions', async () => {
    assert.equal((await b.get('/api/resource/9/feature_count')).status, 200, 'guests may read sites at first');
    const r = await send(a, 'PUT', '/api/resource/9', { resource: { permissions: [
      { action: 'deny', principal: { keyname: 'guest' }, scope: 'data', permission: 'read', propagate: true },
    ] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await eventually(async () => assert.equal((await b.get('/api/resource/9/feature_count')).status, 401));
    assert.equal((await b.get('/api/resource/9/feature_count', { headers: ADMIN })).status, 200);
  });

  it('a tile made on one instance is a shared-cache hit on the other, with the same bytes', async () => {
    const path = '/api/resource/2/2/2/1.mvt';
    const missedBytes = async () => (await b.json('/monitor/1/http/caches/tiles')).body.miss.bytes as number;
    const before = await missedBytes();
    const made = await a.get(path, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(made.headers.get('x-tile-cache'), 'miss');
    const served = await b.get(path, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(served.headers.get('x-tile-cache'), 'shared');
    const [x, y] = [new Uint8Array(await made.arrayBuffer()), new Uint8Array(await served.arrayBuffer())];
    assert.deepEqual(y, x);
    assert.ok(features(decode(y), 'ngw:2').length > 5);
    // The monitor counts it as what it was for this instance's memory cache: a miss.
    await eventually(async () => assert.equal(await missedBytes() - before, y.length));
    assert.equal((await b.get(path)).headers.get('x-tile-cache'), 'hit', 'then from its own memory');
  });

  it('each instance is a manager of one shared seeding queue: a job submitted on one is seeded by both', async () => {
    const managers = (await farm(b, 'GET', '/managers')).body.managers.map((m: any) => m.uuid);
    assert.equal(managers.length, 2, 'both instances registered');
    // A's workers sleep at first, so the other instance must take tasks of a job it was not given.
    const sleeping = await sleepWorkers(a);
    const job = await farm(a, 'POST', '/jobs', { type: 'seed', resources: [2], zoom: [0, 5], bbox: [-180, -85, 180, 85] });
    assert.equal(job.status, 201, JSON.stringify(job.body));
    const tasksBy = async () => (await farm(b, 'GET', `/tasks?job=${job.body.id}`)).body.tasks.map((t: any) => t.worker?.manager).filter(Boolean);
    await eventually(async () => assert.ok((await tasksBy()).length > 0, 'a task taken'), 10_000);
    for (const w of sleeping) await farm(a, 'POST', '/workers', { id: w, status: 'awake' });
    const done = await waitForJob(b, job.body.id, ['completed', 'failed'], 60_000);
    assert.equal(done.status, 'completed');
    assert.equal(done.progress.tiles_done, job.body.progress.tiles_total);
    assert.equal((await farm(a, 'GET', `/jobs/${job.body.id}`)).body.status, 'completed', 'the same job on both');
    assert.deepEqual(new Set(await tasksBy()), new Set(managers), 'tasks seeded by both managers');
  });

  // Tiles made at once on the main thread skip the shared cache (asking it costs more), so these
  // tests use tiles cut in the worker pool: several layers at z1, countries at z2.
  it('a layer whose data is replaced on one instance drops its tiles on every instance', async () => {
    const path = '/api/component/feature_layer/mvt?resource=2,6&z=1&x=1&y=0';
    await a.get(path);
    await eventually(async () => assert.equal((await b.get(path)).headers.get('x-tile-cache'), 'hit'));
    const parallels = a.services.catalog.layerState(6);
    assert.equal(parallels?.status, 'ready');
    a.services.catalog.setLayer(6, parallels.layer);
    await eventually(async () => assert.equal((await b.get(path)).headers.get('x-tile-cache'), 'miss'));
    assert.equal((await a.get(path)).headers.get('x-tile-cache'), 'shared', 'made again by the other instance');
  });

  it('an instance whose data differs (a file changed, a rolling restart under way) shares no tiles with the others', async () => {
    const dataDir = tempData({ copySample: true });
    const file = join(dataDir, 'sites.geojson');
    const original = readFileSync(file, 'utf8');
    const sites = JSON.parse(original);
    sites.features.find((f: any) => f.properties.id === 69).properties.score = 999; // at 10° E, 40° N
    writeFileSync(file, JSON.stringify(sites));
    // Tiles cut in the pool (made at once, a tile skips the shared cache): countries alone, data c
    // has too, then countries with the sites, which c has changed. As the administrator: a test
    // above took the guest's read permission on the sites away.
    const unchanged = [[0, 1], [1, 1], [2, 1], [3, 1], [0, 2], [1, 2], [2, 2], [3, 2]].map(([x, y]) => `/api/resource/2/2/${x}/${y}.mvt`);
    const changed = '/api/component/feature_layer/mvt?resource=2,9&z=1&x=1&y=0';
    for (const path of [...unchanged, changed]) assert.equal((await a.get(path, { headers: ADMIN })).status, 200);
    assert.equal((await b.get(changed, { headers: ADMIN })).headers.get('x-tile-cache'), 'shared', 'b, with the same data, shares it');
    const c = await startServer({ dataDir, env: { ...AUTH_ENV, ...env, MERIDIAN_SOURCE_CHECK_INTERVAL: '0.05' } });
    try {
      // The same data as a's: shared, once c has digested its sources (a moment after its start).
      const outcomes: (string | null)[] = [];
      for (const path of unchanged) {
        outcomes.push((await c.get(path, { headers: ADMIN })).headers.get('x-tile-cache'));
        if (outcomes.at(-1) === 'shared') break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(outcomes.at(-1), 'shared', outcomes.join(', '));
      const own = await c.get(changed, { headers: ADMIN });
      assert.equal(own.headers.get('x-tile-cache'), 'miss', 'made from its own data, not taken from a');
      const scores = features(decode(new Uint8Array(await own.arrayBuffer())), 'ngw:9').map((f) => f.properties.score);
      assert.ok(scores.includes(999), scores.join(', '));

      // c's file put back as a's while c runs: c reloads it, and its tiles of the sites are a's again
      // (a tile a makes now, with the generation c's reload bumped, is shared once c has its digest).
      writeFileSync(file, original);
      await eventually(async () => {
        const tile = await c.get(changed, { headers: ADMIN });
        assert.ok(!features(decode(new Uint8Array(await tile.arrayBuffer())), 'ngw:9').some((f) => f.properties.score === 999), 'c serves its old data');
      }, 10_000);
      const reloaded: (string | null)[] = [];
      for (const [x, y] of [[0, 1], [1, 1], [2, 1], [3, 1], [0, 2], [1, 2]]) {
        const path = `/api/component/feature_layer/mvt?resource=2,9&z=2&x=${x}&y=${y}`;
        assert.equal((await a.get(path, { headers: ADMIN })).status, 200);
        reloaded.push((await c.get(path, { headers: ADMIN })).headers.get('x-tile-cache'));
        if (reloaded.at(-1) === 'shared') break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(reloaded.at(-1), 'shared', reloaded.join(', '));
    } finally {
      await c.stop();
    }
  });

  it('an instance started again over the same files reads none of them to digest them: Redis keeps each digest by path and stamp', async () => {
    const dataDir = tempData({ copySample: true, kept: true });
    const countries = join(dataDir, 'countries110.geojson');
    const sites = join(dataDir, 'sites.geojson');
    const kv = new Redis(redis.url);
    const keyOf = (file: string) => `meridian:digest:${hostname()}:${file}@${sourceStamp(file)}`;
    const kept = (file: string) => kv.get(keyOf(file));
    try {
      const first = await startServer({ dataDir, env: { ...AUTH_ENV, ...env } });
      const digest = await contentDigest(countries);
      try {
        await eventually(async () => assert.equal(await kept(countries), digest, 'the first start kept the digest it read'));
      } finally {
        await first.stop();
      }
      // Another value under the same path and stamp: a start that read the file again would key its tiles by the real digest.
      await kv.set(keyOf(countries), 'feedfacefeedface');
      const changed = JSON.parse(readFileSync(sites, 'utf8'));
      changed.features[0].properties.score = 1234;
      writeFileSync(sites, JSON.stringify(changed));
      const second = await startServer({ dataDir, env: { ...AUTH_ENV, ...env } });
      try {
        let attempt = 0;
        await eventually(async () => {
          // Cut in the pool (so through Redis), a tile not asked before: another clip buffer each time.
          const tile = await second.get(`/api/resource/2/2/2/1.mvt?padding=${(0.2 + 0.01 * attempt++).toFixed(2)}`, { headers: ADMIN });
          assert.equal(tile.status, 200);
          assert.ok((await kv.keys('meridian:tile:*@feedfacefeedface.*')).length > 0, 'a tile of the countries keyed by the kept digest');
        });
        // A file whose stamp changed is read, and its digest kept under its new stamp.
        const sitesDigest = await contentDigest(sites);
        await eventually(async () => assert.equal(await kept(sites), sitesDigest));
      } finally {
        await second.stop();
      }
    } finally {
      kv.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('with Redis killed tiles are still made and served; once it is restarted, tiles are shared again', async () => {
    await redis.kill();
    const res = await a.get('/api/resource/2/3/4/2.mvt');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-tile-cache'), 'miss');
    assert.ok(features(decode(new Uint8Array(await res.arrayBuffer())), 'ngw:2').length > 0);
    assert.equal((await b.get('/api/resource/2/3/4/3.mvt')).status, 200);
    await redis.start();
    let attempt = 0;
    await eventually(async () => {
      // A tile neither instance holds yet: the same cut with another clip buffer each time.
      const path = `/api/resource/2/2/2/1.mvt?padding=${(0.1 + 0.01 * attempt++).toFixed(2)}`;
      await a.get(path);
      assert.equal((await b.get(path)).headers.get('x-tile-cache'), 'shared');
    });
  });

  it('with PostgreSQL killed logins answer 503 DATABASE_UNAVAILABLE, anonymous reads go on, and all recovers once it is restarted', async () => {
    await postgres.kill();
    const refused = await login(a, 'carol', 'carol-password');
    assert.equal(refused.status, 503);
    assert.equal((await refused.json() as { code: string }).code, 'DATABASE_UNAVAILABLE');
    const withPassword = await b.json('/api/resource/2/feature_count', { headers: basic('carol', 'carol-password') });
    assert.equal(withPassword.status, 503);
    assert.equal((await a.get('/api/resource/2/feature_count')).status, 200, 'the guest and its permissions are remembered');
    await postgres.start();
    await eventually(async () => assert.equal((await login(b, 'carol', 'carol-password')).status, 200));
    // The listener reconnected: a change on one instance still reaches the other.
    await send(a, 'PUT', '/api/resource/9', { resource: { permissions: [] } });
    await eventually(async () => assert.equal((await b.get('/api/resource/9/feature_count')).status, 200));
  });

  it('the cluster option runs N processes on one port that share users; one that dies is replaced', async () => {
    const port = await freePort();
    const dataDir = tempData({ copySample: true });
    const child = spawnMeridian(['--cluster', '2', '--port', String(port), '--host', '127.0.0.1', '--data', dataDir],
      { ...AUTH_ENV, MERIDIAN_DATABASE_URL: postgres.url, MERIDIAN_WORKERS: '1' });
    try {
      const listening = () => child.logs.filter((l) => l.msg === 'listening').map((l) => l.pid);
      await eventually(async () => assert.equal(new Set(listening()).size, 2), 60_000);
      const url = `http://127.0.0.1:${port}`;
      const me = await fetch(`${url}/api/component/auth/current_user`, { headers: basic('carol', 'carol-password') });
      assert.equal((await me.json() as { keyname: string }).keyname, 'carol', 'a user made by another instance');
      process.kill(listening()[0], 'SIGKILL');
      await eventually(async () => assert.equal(new Set(listening()).size, 3), 60_000);
      assert.equal((await fetch(`${url}/api/resource/2/feature_count`)).status, 200);
      child.proc.kill('SIGTERM');
      assert.equal(await child.exited, 0);
    } finally {
      child.proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
