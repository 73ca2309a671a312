// How long one request may hold a connection of a PostGIS layer's pool: a statement PostgreSQL
// runs past MERIDIAN_DATABASE_STATEMENT_TIMEOUT_MS answers 503 QUERY_TIMEOUT and its connection is
// put back, not discarded; a streamed answer whose client stops reading is ended after
// MERIDIAN_STREAM_STALL_TIMEOUT_MS, and its connection serves the next request. Each server here
// has a pool of one connection, whose backend (found by its application_name) must stay the same.
// Needs a real server: MERIDIAN_TEST_PG_URL (scripts/pg-test-server.sh starts one); skipped without it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import pino from 'pino';
import { dropSchema, freshSchema, inSchema, PG_SKIP, PG_URL } from './helpers/pg.js';
import { startServer, tempData, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

const SCHEMA = `meridian_bounds_${process.pid}`;
const STATEMENT_TIMEOUT_MS = 500;
const STALL_TIMEOUT_MS = 1000;

/**
 * Resources: 1 the pathological texts, 2 points behind a view that sleeps 10 ms a row, 3 the same
 * from its 501st row on, 4 a 56 MB export, 5 a view whose structure is slow to read (its geometry
 * column generic, so its first row is read, after 0.7 s).
 */
const TABLES: Record<number, string> = { 1: 'texts', 2: 'sleepy', 3: 'sleepy_later', 4: 'big', 5: 'slow_open' };

interface Logged { level: number; msg: string; status?: number; path?: string; stalledMs?: number; err?: { code?: string } }

/** A server of the test's schema, one connection per pool, named `app` in pg_stat_activity; what it logs goes to `logged`. */
async function boundedServer(app: string, env: Record<string, string>, logged: Logged[], ids = [1, 2, 3, 4]): Promise<TestServer> {
  const table = (id: number) => ({ id, cls: 'postgis_layer', parent: 0, display_name: TABLES[id], connection: 'bounded',
    schema: SCHEMA, table: TABLES[id], column_id: 'fid', column_geom: 'geom', fields: 'update' });
  const dir = tempData({ catalog: {
    permissions: ['resource', 'data'].map((scope) => ({ action: 'allow', principal: { keyname: 'everyone' }, scope, permission: 'read', propagate: true })),
    resources: ids.map(table),
  } });
  const url = new URL(inSchema(PG_URL!, SCHEMA));
  url.searchParams.set('application_name', app);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ connections: { bounded: url.href } }));
  const s = await startServer({ dataDir: dir, env: { MERIDIAN_CONFIG: join(dir, 'config.json'), MERIDIAN_DATABASE_POOL_SIZE: '1', ...env },
    log: pino({ level: 'info' }, { write: (line: string) => { logged.push(JSON.parse(line)); } }) });
  logged.length = 0; // what starting logged
  return s;
}

describe('bounds on how long a request holds a PostGIS connection', { skip: PG_SKIP }, () => {
  let db: pg.Client;

  /**
   * The points, each after 10 ms but the first `fast`, in fid order. The order is the subquery's
   * (sorted before the sleep, then kept by the join), so a query in fid order streams rows as they come.
   */
  const sleepy = (fast: number) => `SELECT o.* FROM (SELECT * FROM ${SCHEMA}.points ORDER BY fid) o,
    LATERAL (SELECT pg_sleep(CASE WHEN o.fid > ${fast} THEN 0.01 ELSE 0 END)) s`;

  /** The points with a generic geometry column, each row after `sleep` seconds. */
  const slowOpen = (sleep: number) => `SELECT p.fid, p.name, p.geom::geometry AS geom FROM ${SCHEMA}.points p, LATERAL (SELECT pg_sleep(${sleep})) s`;

  before(async () => {
    db = await freshSchema(SCHEMA);
    // LIKE '%' || 5,000 a's || 'b%' tries each place in 40,000 a's: some 0.3 s a row, 10 s in all.
    await db.query(`CREATE TABLE ${SCHEMA}.texts AS SELECT g AS fid, repeat('a', 40000) AS name, ST_SetSRID(ST_MakePoint(g, 0), 4326)::geometry(Point, 4326) AS geom
      FROM generate_series(1, 30) g`);
    // 1,000 points in z6 tile 32/31, named long enough that a first batch is more than a chunk of output
    // (a failure before the first chunk is sent leaves no answer begun), and views reading them slowly.
    await db.query(`CREATE TABLE ${SCHEMA}.points (fid integer PRIMARY KEY, name text, geom geometry(Point, 4326));
      INSERT INTO ${SCHEMA}.points SELECT g, 'p' || g || repeat('.', 200), ST_SetSRID(ST_MakePoint(1 + (g % 40) / 40.0, 1 + (g / 40) / 40.0), 4326) FROM generate_series(1, 1000) g;
      CREATE VIEW ${SCHEMA}.sleepy AS ${sleepy(0)}; CREATE VIEW ${SCHEMA}.sleepy_later AS ${sleepy(500)};
      CREATE VIEW ${SCHEMA}.slow_open AS ${slowOpen(0.7)}`);
    // 4,000 polygons of 257 vertices and 4 kB of random hex: a GeoJSON export of 56 MB, 12 MB zipped,
    // far past what socket buffers hold (some 4 MB on loopback).
    await db.query(`CREATE TABLE ${SCHEMA}.big AS SELECT g AS fid, (SELECT string_agg(md5(random()::text || g || k), '') FROM generate_series(1, 128) k) AS name,
      ST_Buffer(ST_SetSRID(ST_MakePoint(g % 360 - 179.5, (g / 360) % 170 - 84.5), 4326), 0.4, 64)::geometry(Polygon, 4326) AS geom
      FROM generate_series(1, 4000) g; ALTER TABLE ${SCHEMA}.big ADD PRIMARY KEY (fid)`);
  });
  after(() => dropSchema(db, SCHEMA));

  /** The pids of the backends `app` has open, and what each is doing. */
  const backends = async (app: string) => (await db.query<{ pid: number; state: string }>(
    'SELECT pid, state FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid', [app])).rows;
  /** `backends` once all are idle, or after 2 s (pg answers a failed statement before its backend reports itself idle). */
  const settled = async (app: string) => {
    await until(async () => (await backends(app)).every((b) => b.state === 'idle'));
    return backends(app);
  };

  describe('a statement PostgreSQL runs past the bound', () => {
    const app = `meridian_statements_${process.pid}`;
    const logged: Logged[] = [];
    let s: TestServer;
    before(async () => { s = await boundedServer(app, { MERIDIAN_DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) }, logged); });
    after(() => s?.stop());

    /** Asks for `path` (JSON `body` POSTed if given): a 503 QUERY_TIMEOUT, soon after the bound; the pool's one connection is the same, idle. */
    const timesOut = async (path: string, pid: number, body?: unknown) => {
      const asked = performance.now();
      const res = await s.json(path, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {});
      const took = performance.now() - asked;
      assert.equal(res.status, 503, `${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'QUERY_TIMEOUT', path);
      assert.equal(res.body.exception, 'nextgisweb.postgis.exception.ExternalDatabaseError', path);
      assert.match(res.body.message, new RegExp(`stopped \\(canceling statement due to statement timeout\\): each statement may run for ${STATEMENT_TIMEOUT_MS} ms \\(MERIDIAN_DATABASE_STATEMENT_TIMEOUT_MS\\)`), path);
      assert.equal(res.headers.get('retry-after'), null, `${path}: the same request would run as long again`);
      assert.ok(took < STATEMENT_TIMEOUT_MS + 2000, `${path}: answered in ${took.toFixed(0)} ms`);
      assert.deepEqual(await settled(app), [{ pid, state: 'idle' }], `${path}: its connection is back in the pool, not replaced`);
    };

    it('a pathological LIKE on a feature list answers 503 QUERY_TIMEOUT; the connection is reused and the layer serves on', async () => {
      assert.equal((await s.json('/api/resource/1/feature_count')).body.total_count, 30);
      const [{ pid }] = await backends(app);
      const pattern = `%${'a'.repeat(5000)}b%`;
      for (const op of ['like', 'ilike']) await timesOut(`/api/resource/1/feature/?fld_name__${op}=${encodeURIComponent(pattern)}&limit=10`, pid);
      const res = await s.json('/api/resource/1/feature/?fld_name__like=a%25&limit=2&geom=no');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.map((f: { id: number }) => f.id), [1, 2]);
      assert.deepEqual(await settled(app), [{ pid, state: 'idle' }]);
      assert.deepEqual(logged.filter((l) => l.level >= 40), [], 'nothing logged as a warning or an error');
    });

    it('count, extent, tiles (ST_AsMVT and windows), lists, exports and identify on a slow table answer it too', async () => {
      assert.equal((await s.json('/api/resource/1/feature/1?geom=no')).status, 200);
      const [{ pid }] = await backends(app);
      for (const path of ['feature_count', 'extent', '6/32/31.mvt', '0/0/0.mvt', 'feature/', 'geojson', 'csv', 'geojson?zipped=yes']) {
        await timesOut(`/api/resource/2/${path}`, pid);
      }
      await timesOut('/api/feature_layer/identify', pid, { srs: 4326, geom: 'POLYGON((0 0, 3 0, 3 3, 0 3, 0 0))', layers: [2] });
      assert.equal((await s.json('/api/resource/1/feature/1?geom=no')).status, 200);
      assert.deepEqual(await settled(app), [{ pid, state: 'idle' }]);
    });

    it('a layer whose structure takes longer to read answers QUERY_TIMEOUT, and serves once a retry reads it in time', async () => {
      const opening: Logged[] = [];
      const slow = await boundedServer(`meridian_opening_${process.pid}`, { MERIDIAN_DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) }, opening, [5]);
      try {
        const res = await slow.json('/api/resource/5/feature_count');
        assert.equal(res.status, 503, JSON.stringify(res.body));
        assert.equal(res.body.code, 'QUERY_TIMEOUT', 'not taken for a database out of reach');
        assert.match(res.body.message, new RegExp(`reading its structure took too long \\(.*statement timeout\\): each statement may run for ${STATEMENT_TIMEOUT_MS} ms`));
        await db.query(`CREATE OR REPLACE VIEW ${SCHEMA}.slow_open AS ${slowOpen(0)}`);
        // Tried again 5 s after it failed, as a database out of reach is.
        await until(async () => (await slow.json('/api/resource/5/feature_count')).status === 200, 8000);
        assert.equal((await slow.json('/api/resource/5/feature_count')).body.total_count, 1000);
      } finally {
        await slow.stop();
        await db.query(`CREATE OR REPLACE VIEW ${SCHEMA}.slow_open AS ${slowOpen(0.7)}`);
      }
    });

    it('one past the bound before the first chunk of output was made answers it too, not a connection closed without a status', async () => {
      const [{ pid }] = await backends(app);
      // Resource 3's first batch comes at once, and without the long names (fields=) it makes less than a chunk.
      for (const path of ['feature/?geom=no&fields=', 'geojson?fields=', 'csv?fields=', 'geojson?fields=&zipped=yes']) {
        await timesOut(`/api/resource/3/${path}`, pid);
      }
      assert.equal((await s.json('/api/resource/3/feature/?fields=&limit=2')).status, 200, 'the layer serves on');
    });

    it('one past the bound after the answer began cuts the stream short, as a lost connection does, and is logged', async () => {
      const [{ pid }] = await backends(app);
      for (const path of ['feature/?geom=no', 'geojson']) {
        logged.length = 0;
        const res = await s.get(`/api/resource/3/${path}`);
        assert.equal(res.status, 200, 'answered once the first batch came');
        const read = await res.text().then(() => 'whole', () => 'cut short');
        assert.equal(read, 'cut short', path);
        await until(() => logged.some((l) => l.msg === 'request'));
        const failed = logged.filter((l) => l.level >= 40);
        assert.equal(failed.length, 1, JSON.stringify(failed));
        assert.equal(failed[0].msg, 'answer failed after it began');
        assert.equal(failed[0].err?.code, 'QUERY_TIMEOUT');
        assert.deepEqual(await settled(app), [{ pid, state: 'idle' }], path);
      }
    });
  });

  describe('a streamed answer whose client stops reading', () => {
    const app = `meridian_streams_${process.pid}`;
    const logged: Logged[] = [];
    let s: TestServer;
    before(async () => { s = await boundedServer(app, { MERIDIAN_STREAM_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS), MERIDIAN_DATABASE_TIMEOUT_MS: '10000' }, logged); });
    after(() => s?.stop());

    /** A raw connection asking for `path` (closed by the server after the answer); `readableHighWaterMark` is what it buffers at most. */
    const asking = (path: string, readableHighWaterMark = 16 * 1024): Socket => {
      const { port } = new URL(s.url);
      const options: NetConnectOpts & { readableHighWaterMark: number } = { port: Number(port), host: '127.0.0.1', readableHighWaterMark };
      const socket = connect(options);
      socket.on('error', () => {});
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      return socket;
    };

    it('is ended after the stall timeout: the connection goes back to the pool, and the next request gets it at once', async () => {
      assert.equal((await s.json('/api/resource/4/feature/1?geom=no')).status, 200);
      const [{ pid }] = await backends(app);
      // Each waits for the one connection while the one before holds it, as 12 such clients held a pool of 10.
      const paths = ['/api/resource/4/feature/', '/api/resource/4/geojson', '/api/resource/4/csv', '/api/resource/4/geojson?zipped=yes'];
      const started = performance.now();
      const stalled = paths.map((path) => asking(path).pause()); // never read
      try {
        const cut = () => logged.filter((l) => l.msg === 'answer ended: its client stopped reading');
        await until(() => cut().length === paths.length, 10_000);
        const took = performance.now() - started;
        assert.deepEqual(cut().map((l) => [l.level, l.path, l.stalledMs]).sort(), paths.map((p) => [40, p.replace(/\?.*/, ''), STALL_TIMEOUT_MS]).sort());
        assert.ok(took >= paths.length * STALL_TIMEOUT_MS, `all ${paths.length} ended in ${took.toFixed(0)} ms: each waited for the one before`);
        const asked = performance.now();
        const res = await s.json('/api/resource/4/feature/2?geom=no');
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.ok(performance.now() - asked < 1000, `the next request waited ${(performance.now() - asked).toFixed(0)} ms`);
        assert.deepEqual(await settled(app), [{ pid, state: 'idle' }], 'the same connection, put back');
        // The two requests of feature 1 and 2, and the streams cut (logged as nginx logs a client gone: 499).
        await until(() => logged.filter((l) => l.msg === 'request').length === paths.length + 2);
        assert.deepEqual(logged.filter((l) => l.msg === 'request').map((l) => l.status).sort(), [200, 200, ...paths.map(() => 499)]);
        assert.deepEqual(logged.filter((l) => l.level >= 40).map((l) => l.msg), paths.map(() => 'answer ended: its client stopped reading'));
      } finally {
        for (const socket of stalled) socket.destroy();
      }
    });

    it('a client that reads slowly but steadily is not cut, and gets the whole export', async () => {
      logged.length = 0;
      const whole = Buffer.from(await (await s.get('/api/resource/4/geojson')).arrayBuffer());
      assert.ok(whole.length > 50 * 2 ** 20, `the export is ${whole.length} bytes, less than socket buffers could hold`);
      const socket = asking('/api/resource/4/geojson', 64 * 1024).pause();
      const chunks: Buffer[] = [];
      const take = () => { for (let c; (c = socket.read()) !== null;) chunks.push(c); };
      // 64 kB every 10 ms for 2.5 stall timeouts: slower than the export is made, so it waits on the
      // reader throughout. The server sees its reader take data each time its socket may be written to
      // again, which the kernel says once a third or so of its send buffer has gone out (4 MB on
      // loopback: 1.5 MB measured): a reader must take that much per stall timeout.
      const slowly = setInterval(take, 10);
      await new Promise((r) => setTimeout(r, 2.5 * STALL_TIMEOUT_MS));
      clearInterval(slowly);
      const slowBytes = chunks.reduce((n, c) => n + c.length, 0);
      assert.ok(slowBytes > 4 * 2 ** 20 && slowBytes < whole.length / 2, `${slowBytes} bytes read slowly`);
      const ended = new Promise((r) => socket.once('end', r));
      socket.on('data', (c: Buffer) => chunks.push(c)).resume();
      await ended;
      const raw = Buffer.concat(chunks).toString('latin1');
      const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
      assert.match(raw, /^HTTP\/1\.1 200 /);
      assert.ok(body.endsWith('0\r\n\r\n'), 'the chunked answer ended as a whole one does');
      // Chunk sizes and their line ends taken out, the document read slowly is the one read at once.
      let document = '';
      for (let at = 0; ;) {
        const eol = body.indexOf('\r\n', at);
        const size = parseInt(body.slice(at, eol), 16);
        if (!size) break;
        document += body.slice(eol + 2, eol + 2 + size);
        at = eol + 2 + size + 2;
      }
      assert.equal(document.length, whole.length);
      assert.ok(Buffer.from(document, 'latin1').equals(whole), 'the same document');
      assert.deepEqual(logged.filter((l) => l.level >= 40), [], 'nothing cut, nothing logged as a warning');
    });
  });
});
