// What both job stores promise a job being submitted (src/farm/construction.ts), on SQLite and on
// PostgreSQL (MERIDIAN_TEST_PG_URL; skipped without it): no read sees it before its last task is
// stored, a failed storing leaves nothing of it, and the jobs a manager left under construction go
// (its own when it opens the farm again, another's once that one is silent).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { openDatabase } from '../src/auth/database.js';
import { migrate } from '../src/auth/pg-database.js';
import { storeJob, TASKS_PER_CHUNK } from '../src/farm/construction.js';
import type { JobStore } from '../src/farm/job-store.js';
import { PgJobStore } from '../src/farm/pg-job-store.js';
import { SqliteJobStore } from '../src/farm/sqlite-job-store.js';
import { tileCount } from '../src/farm/tile-grid.js';
import { UNDER_CONSTRUCTION, type JobSpec } from '../src/farm/types.js';
import { dropSchema, freshSchema, inSchema, PG_SKIP, PG_URL } from './helpers/pg.js';

const silent = pino({ level: 'silent' });
/** 1,369 tasks: six chunks. */
const SPEC: JobSpec = { name: 'world z0-9', type: 'seed', format: 'mvt', resources: [2], zoom: [0, 9], bbox: [-180, -85, 180, 85], priority: 50 };

interface Opened {
  store: JobStore;
  /** Rows of the job and of its tasks, as the tables hold them (hidden ones included). */
  rows(jobId: string): Promise<number>;
  close(): Promise<void>;
}

/** `store`, with `check` run after each chunk of tasks it stores. */
function watched(store: JobStore, check: (jobId: string) => Promise<void>): JobStore {
  const spy = Object.create(store) as JobStore;
  spy.addTasks = async (tasks) => {
    await store.addTasks(tasks);
    await check(tasks[0].jobId);
  };
  return spy;
}

/** A job left as a crash leaves one: under construction by `manager`, with one task stored. */
async function halfJob(store: JobStore, manager: string): Promise<string> {
  const id = randomUUID(), now = Date.now();
  await store.createJob({ ...SPEC, id, status: UNDER_CONSTRUCTION, activity: '', tilesTotal: 1, manager, created: now, updated: now });
  await store.addTasks([{
    id: randomUUID(), jobId: id, position: 0, z: 0, xMin: 0, xMax: 0, yMin: 0, yMax: 0, status: 'queued', activity: '', worker: null, manager: null,
    cleared: false, nextIndex: 0, generated: 0, skipped: 0, failed: 0, tilesTotal: 1, updated: now,
  }]);
  return id;
}

function jobStoreContract(engine: string, open: () => Promise<Opened>, skip: string | false = false) {
  describe(`${engine} job store`, { skip }, () => {
    let opened: Opened;
    let store: JobStore;
    before(async () => { opened = await open(); store = opened.store; });
    after(() => opened?.close());

    it('shows a submitted job to no read, and lets no worker claim it, before its last task is stored', async () => {
      const manager = (await store.registerManager('submitter', null, 1)).uuid;
      let chunks = 0;
      const { id, tasks } = await storeJob(watched(store, async (jobId) => {
        chunks++;
        assert.equal(await store.job(jobId), undefined);
        assert.ok(!(await store.jobs()).some((j) => j.id === jobId));
        assert.ok(!(await store.tasks()).some((t) => t.jobId === jobId));
        assert.equal(await store.claimTask('probe', manager), undefined);
        assert.ok(await opened.rows(jobId) > 1, 'its rows are there meanwhile');
      }), SPEC, manager);
      assert.equal(chunks, Math.ceil(tasks / TASKS_PER_CHUNK));
      assert.ok(chunks > 2);
      const job = (await store.job(id))!;
      assert.deepEqual([job.status, job.manager, job.tilesTotal], ['queued', manager, tileCount(SPEC.bbox, SPEC.zoom)]);
      assert.deepEqual((await store.jobs()).map((j) => j.id), [id]);
      const stored = await store.tasks(id);
      assert.deepEqual(stored.map((t) => t.position), [...Array(tasks).keys()]);
      assert.equal(stored.reduce((n, t) => n + t.tilesTotal, 0), job.tilesTotal);
      assert.equal((await store.claimTask('probe', manager))?.id, stored[0].id, 'claimable once queued');
      await store.deleteJobs([id]);
    });

    it('leaves nothing of a job whose storing fails', async () => {
      let jobId = '';
      const failing = watched(store, async (id) => {
        jobId = id;
        throw new Error('disk full');
      });
      await assert.rejects(storeJob(failing, SPEC, 'm'), /disk full/);
      assert.equal(await opened.rows(jobId), 0);
    });

    it('removes the jobs a manager left under construction: its own when it opens again, another\'s once that one is silent', async () => {
      const [a, b] = [(await store.registerManager('a', null, 1)).uuid, (await store.registerManager('b', null, 1)).uuid];
      const [ofA, ofB] = [await halfJob(store, a), await halfJob(store, b)];
      const { id: queued } = await storeJob(store, SPEC, a);
      assert.equal(await store.dropInterruptedConstructions(a), 1);
      assert.deepEqual([await opened.rows(ofA), await opened.rows(ofB)], [0, 2], 'only its own');
      assert.equal((await store.job(queued))?.status, 'queued', 'a stored job stays');
      assert.equal(await store.dropAbandonedConstructions(Date.now() - 60_000, a), 0, 'b was seen within the timeout');
      const againOfA = await halfJob(store, a);
      assert.equal(await store.dropAbandonedConstructions(Date.now() + 1, a), 1, 'b is silent now; a is the one asking');
      assert.deepEqual([await opened.rows(ofB), await opened.rows(againOfA)], [0, 2]);
      await store.deleteJobs([queued, againOfA]);
    });
  });
}

jobStoreContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-farm-store-'));
  const db = openDatabase(join(dir, 'meridian.db'), silent);
  const count = db.prepare('SELECT (SELECT COUNT(*) FROM farm_job WHERE id = ?) + (SELECT COUNT(*) FROM farm_task WHERE job_id = ?) AS n');
  return {
    store: new SqliteJobStore(db),
    rows: async (id) => (count.get(id, id) as { n: number }).n,
    async close() { db.close(); rmSync(dir, { recursive: true, force: true }); },
  };
});

const SCHEMA = `meridian_farm_store_${process.pid}`;
jobStoreContract('PostgreSQL', async () => {
  const client = await freshSchema(SCHEMA);
  const pool = new pg.Pool({ connectionString: inSchema(PG_URL!, SCHEMA) });
  await migrate(pool, silent);
  return {
    store: new PgJobStore(pool),
    rows: async (id) => Number((await client.query(`SELECT (SELECT COUNT(*) FROM ${SCHEMA}.farm_job WHERE id = $1)
      + (SELECT COUNT(*) FROM ${SCHEMA}.farm_task WHERE job_id = $1) AS n`, [id])).rows[0].n),
    async close() { await pool.end(); await dropSchema(client, SCHEMA); },
  };
}, PG_SKIP);
