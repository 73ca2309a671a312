// The farm's settings (GET/POST /farm/api/v3/settings) are stored with the jobs: a POSTed one
// outlasts a restart and wins over the configuration (null gives it back to the configuration), the
// server follows the stored ones (job cap, seeding workers, tile store bound, which the store opens
// with), a failed store changes nothing, and with PostgreSQL every instance applies a change made
// on another (LISTEN/NOTIFY); without MERIDIAN_TEST_PG_URL that part is skipped.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import { databaseUnavailable } from '../src/store/postgis/connections.js';
import { AUTH_ENV, authServer } from './helpers/auth.js';
import { farm } from './helpers/farm.js';
import { dropSchema, freshSchema, inSchema, PG_SKIP, PG_URL } from './helpers/pg.js';
import { startServer, tempData, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

/** Three tiles at zoom 2 (the cap lowered to 2 refuses it). */
const SMALL = { type: 'seed', resources: [2], zoom: [0, 2], bbox: [0, 0, 20, 20] };
const MB = 1024 * 1024;

const settings = async (s: TestServer) => (await farm(s, 'GET', '/settings')).body;
const workers = async (s: TestServer) => (await farm(s, 'GET', '/workers')).body.workers.map((w: any) => w.status);

describe('farm settings stored in SQLite', () => {
  const dir = tempData({ copySample: true, kept: true });
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** A server over `dir`, its database and tile store in it, so that a restart finds them. */
  const serve = (env: Record<string, string> = {}) => startServer({
    dataDir: dir,
    env: { ...AUTH_ENV, MERIDIAN_DATABASE: join(dir, 'meridian.db'), MERIDIAN_TILE_STORE: join(dir, 'tiles'), MERIDIAN_WORKERS: '2',
      MERIDIAN_SEED_CONCURRENCY: '1', MERIDIAN_TILE_STORE_MB: '1', ...env },
  });

  it('outlast a restart and win over the configuration; null gives a setting back to the configuration', async () => {
    let s = await serve();
    try {
      assert.deepEqual(await settings(s), { tile_store_max_bytes: MB, seed_concurrency: 1, max_job_tiles: 1_000_000 }, 'configured');
      assert.equal((await farm(s, 'POST', '/settings', { max_job_tiles: 2, seed_concurrency: 0, tile_store_max_bytes: 4 * MB })).status, 204);
    } finally {
      await s.stop();
    }
    // 1.8 MB stored: over the configured bound, under the POSTed one.
    for (const y of [0, 1, 2]) {
      mkdirSync(join(dir, 'tiles', 'mvt', '999', '2', '0'), { recursive: true });
      writeFileSync(join(dir, 'tiles', 'mvt', '999', '2', '0', `${y}.mvt`), Buffer.alloc(600_000));
    }
    // The configuration changed meanwhile: the POSTed values still win.
    s = await serve({ MERIDIAN_MAX_JOB_TILES: '3', MERIDIAN_SEED_CONCURRENCY: '2' });
    try {
      assert.deepEqual(await settings(s), { tile_store_max_bytes: 4 * MB, seed_concurrency: 0, max_job_tiles: 2 });
      const capped = await farm(s, 'POST', '/jobs', SMALL);
      assert.equal(capped.status, 400);
      assert.match(capped.body.message, /covers? 3 tiles, more than the limit of 2/);
      assert.deepEqual(await workers(s), ['offline', 'offline'], 'no worker seeds');
      const render = (await farm(s, 'GET', '/settings/render')).body;
      assert.deepEqual([render.max_bytes, render.entries], [4 * MB, 3], 'the store opened with the POSTed bound: nothing evicted');
      // Back to the configuration's value, now and after the next restart.
      assert.equal((await farm(s, 'POST', '/settings', { max_job_tiles: null })).status, 204);
      assert.equal((await settings(s)).max_job_tiles, 3);
      assert.equal((await farm(s, 'POST', '/jobs', SMALL)).status, 201);
    } finally {
      await s.stop();
    }
    s = await serve({ MERIDIAN_MAX_JOB_TILES: '4' });
    try {
      assert.deepEqual(await settings(s), { tile_store_max_bytes: 4 * MB, seed_concurrency: 0, max_job_tiles: 4 }, 'the cap follows the configuration again');
    } finally {
      await s.stop();
    }
  });

  it('a store that fails changes nothing, in memory or stored', async () => {
    const s = await serve();
    try {
      const before = await settings(s);
      const jobs = s.services.farm.jobs;
      const save = jobs.saveSettings;
      jobs.saveSettings = async () => { throw databaseUnavailable('the jobs database', new Error('connection refused')); };
      try {
        const refused = await farm(s, 'POST', '/settings', { max_job_tiles: 9, seed_concurrency: 2 });
        assert.deepEqual([refused.status, refused.body.error], [503, 'DATABASE_UNAVAILABLE']);
      } finally {
        jobs.saveSettings = save;
      }
      assert.deepEqual(await settings(s), before);
      assert.deepEqual(await jobs.settings(), { seed_concurrency: 0, tile_store_max_bytes: 4 * MB });
      assert.deepEqual(await workers(s), ['offline', 'offline']);
    } finally {
      await s.stop();
    }
  });
});

describe('farm settings shared through PostgreSQL', { skip: PG_SKIP }, () => {
  const SCHEMA = `meridian_farm_settings_${process.pid}`;
  let client: pg.Client;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    client = await freshSchema(SCHEMA);
    const env = { MERIDIAN_DATABASE_URL: inSchema(PG_URL!, SCHEMA), MERIDIAN_WORKERS: '2', MERIDIAN_SEED_CONCURRENCY: '1' };
    // One after the other: each creates the schema it finds missing.
    a = await authServer({ env });
    b = await authServer({ env });
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await dropSchema(client, SCHEMA);
  });

  /** Waits (bounded) for `s` to show `expected`, then checks it. */
  async function seen(s: TestServer, expected: Record<string, number>) {
    await until(async () => JSON.stringify(await settings(s)) === JSON.stringify(expected), 5000);
    assert.deepEqual(await settings(s), expected);
  }

  it('a change POSTed to one instance applies on the other at once', async () => {
    const configured = await settings(b);
    const changed = { tile_store_max_bytes: 3_000_000, seed_concurrency: 0, max_job_tiles: 2 };
    assert.equal((await farm(a, 'POST', '/settings', changed)).status, 204);
    await seen(b, changed);
    const capped = await farm(b, 'POST', '/jobs', SMALL);
    assert.equal(capped.status, 400);
    assert.match(capped.body.message, /more than the limit of 2/);
    assert.deepEqual(await workers(b), ['offline', 'offline'], 'its seeding workers stopped too');
    assert.equal((await farm(b, 'GET', '/settings/render')).body.max_bytes, 3_000_000, 'and its tile store has the bound');
    // And back, from the other one.
    assert.equal((await farm(b, 'POST', '/settings', { seed_concurrency: 1, max_job_tiles: null })).status, 204);
    await seen(a, { ...changed, seed_concurrency: 1, max_job_tiles: configured.max_job_tiles });
    assert.deepEqual(await workers(a), ['awake', 'offline']);
  });
});
