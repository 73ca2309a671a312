// What both job stores promise, on SQLite and on PostgreSQL (MERIDIAN_TEST_PG_URL; skipped without
// it). A job being submitted (src/farm/construction.ts) or deleted (deletion.ts): no read sees it
// before its last task is stored or after its deletion began, a failed storing leaves nothing of
// it, and the jobs a manager left under construction or half deleted go (its own when it opens the
// farm again, another's once that one is silent). Tasks are claimed in job priority, job age, task
// position order, on a database migrated from an older version too. A job's tally (tasks by status,
// tiles) sums as its counts do. Farm settings are stored by name.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { openDatabase } from '../src/auth/database.js';
import { MIGRATIONS, type Migration } from '../src/auth/migrations.js';
import { migrate } from '../src/auth/pg-database.js';
import { storeJob, TASKS_PER_CHUNK } from '../src/farm/construction.js';
import { deleteHidden, TASKS_PER_DELETE } from '../src/farm/deletion.js';
import { Farm, type FarmServices } from '../src/farm/farm.js';
import type { JobStore } from '../src/farm/job-store.js';
import { PgJobStore } from '../src/farm/pg-job-store.js';
import { SqliteJobStore } from '../src/farm/sqlite-job-store.js';
import { taskPages } from '../src/farm/task-list.js';
import { tileCount } from '../src/farm/tile-grid.js';
import { DELETING, UNDER_CONSTRUCTION, type JobRecord, type JobSpec, type JobStatus, type TaskRecord, type TaskStatus } from '../src/farm/types.js';
import { dropSchema, freshSchema, inSchema, PG_SKIP, PG_URL } from './helpers/pg.js';
import { until } from './helpers/wait.js';

const silent = pino({ level: 'silent' });
/** 1,369 tasks: six chunks. */
const SPEC: JobSpec = { name: 'world z0-9', type: 'seed', format: 'mvt', resources: [2], zoom: [0, 9], bbox: [-180, -85, 180, 85], priority: 50 };

interface Opened {
  store: JobStore;
  /** Rows of the job and of its tasks, as the tables hold them (hidden ones included). */
  rows(jobId: string): Promise<number>;
  /** Applies every migration (the database was opened with fewer); answers the store on it. */
  upgrade(): Promise<JobStore>;
  /** The migrations applied. */
  versions(): Promise<number[]>;
  close(): Promise<void>;
}

/** Opens a fresh database of an engine with `migrations` applied (all by default). */
type Opener = (migrations?: Migration[]) => Promise<Opened>;

/** `store`, with `check` run after each chunk of tasks it stores. */
function watched(store: JobStore, check: (jobId: string) => Promise<void>): JobStore {
  const spy = Object.create(store) as JobStore;
  spy.addTasks = async (tasks) => {
    await store.addTasks(tasks);
    await check(tasks[0].jobId);
  };
  return spy;
}

/** Stores a job as `job` says, with a one-tile task of each status in `tasks` at its position, stored in the order of `stored` (positions). */
async function putJob(store: JobStore, job: Partial<JobRecord>, tasks: TaskStatus[] = ['queued'], stored = [...tasks.keys()]): Promise<string> {
  const id = job.id ?? randomUUID(), now = Date.now();
  await store.createJob({ ...SPEC, id, status: 'queued', activity: '', tilesTotal: tasks.length, manager: null, created: now, updated: now, ...job });
  await store.addTasks(stored.map((position) => ({
    id: randomUUID(), jobId: id, position, z: 0, xMin: 0, xMax: 0, yMin: 0, yMax: 0, status: tasks[position], activity: '', worker: null, manager: null,
    cleared: false, nextIndex: 0, generated: 0, skipped: 0, failed: 0, tilesTotal: 1, updated: now,
  })));
  return id;
}

/** A job left as a crash leaves one: under construction (or being deleted) by `manager`, with one task stored. */
const halfJob = (store: JobStore, manager: string, status: JobStatus = UNDER_CONSTRUCTION) => putJob(store, { status, manager });

/** No read shows the job, and no worker claims its tasks (the store holds no other job to claim from). */
async function assertHidden(store: JobStore, jobId: string, manager: string): Promise<void> {
  assert.equal(await store.job(jobId), undefined);
  assert.ok(!(await store.jobs()).some((j) => j.id === jobId));
  assert.equal(await store.claimTask('probe', manager), undefined);
}

function jobStoreContract(engine: string, open: Opener, skip: string | false = false) {
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
        await assertHidden(store, jobId, manager);
        assert.ok(await opened.rows(jobId) > 1, 'its rows are there meanwhile');
      }), SPEC, manager);
      assert.equal(chunks, Math.ceil(tasks / TASKS_PER_CHUNK));
      assert.ok(chunks > 2);
      const job = (await store.job(id))!;
      assert.deepEqual([job.status, job.manager, job.tilesTotal], ['queued', manager, tileCount(SPEC.bbox, SPEC.zoom)]);
      assert.deepEqual((await store.jobs()).map((j) => j.id), [id]);
      const stored: TaskRecord[] = [];
      for await (const page of taskPages(store, id)) stored.push(...page);
      assert.deepEqual(stored.map((t) => t.position), [...Array(tasks).keys()]);
      assert.deepEqual((await store.taskPage(id, 99, 100)).map((t) => t.position), stored.slice(100, 200).map((t) => t.position));
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
      await assert.rejects(storeJob(failing, SPEC, 'm'), { status: 503, code: 'JOB_NOT_STORED', message: /disk full.*submit it again/ });
      assert.equal(await opened.rows(jobId), 0);
      // Removed meanwhile by another manager (one that took it for a stopped one's): 503 too, not a 500.
      const removed = watched(store, async (id) => { await store.deleteJobs([id]); });
      await assert.rejects(storeJob(removed, SPEC, 'm'), { status: 503, code: 'JOB_NOT_STORED' });
    });

    it('a manager beats from the moment it opens the farm, before seeding starts (its layers may load for long)', async () => {
      // What Farm needs of the services, no more: seeding never starts here.
      const services = {
        config: { tileStore: mkdtempSync(join(tmpdir(), 'meridian-beat-')), seedConcurrency: 1, managerTimeout: 0.3, maxJobTiles: 1, tileStoreBytes: 1 },
        pool: { size: 1 }, tileStore: { maxBytes: 1 }, log: silent,
      } as unknown as FarmServices;
      const farm = await Farm.open(services, store);
      try {
        const seen = async () => (await store.managers()).find((m) => m.uuid === farm.manager)!.lastSeen;
        const opened = await seen();
        await until(async () => (await seen()) > opened, 2000);
        assert.ok(await seen() > opened, 'seen again while seeding has not started');
      } finally {
        await farm.close();
        rmSync(services.config.tileStore, { recursive: true, force: true });
      }
    });

    it('removes the jobs a manager left under construction or half deleted: its own when it opens again, another\'s once that one is silent', async () => {
      const [a, b] = [(await store.registerManager('a', null, 1)).uuid, (await store.registerManager('b', null, 1)).uuid];
      const [ofA, halfDeletedOfA, ofB] = [await halfJob(store, a), await halfJob(store, a, DELETING), await halfJob(store, b)];
      const { id: queued } = await storeJob(store, SPEC, a);
      assert.equal(await deleteHidden(store, await store.takeInterrupted(a)), 2);
      assert.deepEqual([await opened.rows(ofA), await opened.rows(halfDeletedOfA), await opened.rows(ofB)], [0, 0, 2], 'only its own');
      assert.equal((await store.job(queued))?.status, 'queued', 'a stored job stays');
      assert.deepEqual(await store.takeAbandoned(Date.now() - 60_000, a), [], 'b was seen within the timeout');
      const againOfA = await halfJob(store, a);
      assert.deepEqual(await store.takeAbandoned(Date.now() + 1, a), [ofB], 'b is silent now; a is the one asking');
      // Taken over: a stopping before it is gone would remove it at its own start.
      assert.deepEqual((await store.takeInterrupted(a)).sort(), [ofB, againOfA].sort());
      assert.equal(await deleteHidden(store, [ofB, againOfA]), 2);
      assert.deepEqual([await opened.rows(ofB), await opened.rows(againOfA)], [0, 0]);
      await store.deleteJobs([queued]);
    });

    it('hides a job from every read and claim before its tasks go, a chunk at a time', async () => {
      const manager = (await store.registerManager('deleter', null, 1)).uuid;
      const { id, tasks } = await storeJob(store, { ...SPEC, zoom: [0, 10] }, manager);
      assert.ok(tasks > 2 * TASKS_PER_DELETE);
      let chunks = 0;
      const watching = Object.create(store) as JobStore;
      watching.deleteTasks = async (jobId, limit) => {
        const deleted = await store.deleteTasks(jobId, limit);
        chunks++;
        await assertHidden(store, jobId, manager);
        return deleted;
      };
      assert.deepEqual(await store.hideForDeletion([id, randomUUID()], manager), [id], 'the jobs found');
      assert.equal(await deleteHidden(watching, [id]), 1);
      assert.equal(chunks, Math.floor(tasks / TASKS_PER_DELETE) + 1);
      assert.equal(await opened.rows(id), 0);
    });

    it('hands out queued tasks by job priority, then job age (then id), then task position', async () => {
      const t0 = Date.now();
      const [twin, otherTwin] = [randomUUID(), randomUUID()].sort();
      const queued: TaskStatus[] = ['queued', 'queued', 'queued'];
      const ids = {
        old: await putJob(store, { created: t0 }, queued, [2, 0, 1]),
        young: await putJob(store, { created: t0 + 20 }, queued),
        // The same age: by id.
        otherTwin: await putJob(store, { id: otherTwin, created: t0 + 10 }, queued, [1, 2, 0]),
        twin: await putJob(store, { id: twin, created: t0 + 10 }, queued),
        // First despite its age; its first task is done.
        urgent: await putJob(store, { created: t0 + 30, priority: 60 }, ['completed', 'queued', 'queued'], [1, 0, 2]),
        paused: await putJob(store, { created: t0, priority: 100, status: 'paused' }, queued),
      };
      const claimed = [];
      for (let task; (task = await store.claimTask('w', 'claimer'));) claimed.push([task.jobId, task.position]);
      const expected = [[ids.urgent, 1], [ids.urgent, 2]];
      for (const job of [ids.old, ids.twin, ids.otherTwin, ids.young]) expected.push([job, 0], [job, 1], [job, 2]);
      assert.deepEqual(claimed, expected);
      assert.deepEqual(await Promise.all(Object.values(ids).map(async (id) => (await store.job(id))?.status)),
        ['active', 'active', 'active', 'active', 'active', 'paused']);
      await store.deleteJobs(Object.values(ids));
    });

    it('stores settings by name, each write in one transaction; null removes one', async () => {
      await store.saveSettings({ max_job_tiles: 5, tile_store_max_bytes: 2 ** 40 });
      await store.saveSettings({ max_job_tiles: 7, seed_concurrency: 0 });
      assert.deepEqual(await store.settings(), { max_job_tiles: 7, seed_concurrency: 0, tile_store_max_bytes: 2 ** 40 }, 'BIGINT read back as a number');
      await store.saveSettings({ max_job_tiles: null, seed_concurrency: null, tile_store_max_bytes: null });
      assert.deepEqual(await store.settings(), {});
    });

    it('tallies a job\'s tasks by status and its tiles in one read, as jobCounts sums them', async () => {
      const id = await putJob(store, { priority: 100 }, ['queued', 'failed', 'failed', 'canceled', 'completed']);
      const task = (await store.claimTask('w', 'tallier'))!;
      assert.equal(task.jobId, id);
      await store.saveProgress(task.id, 'w', 'tallier', { nextIndex: 1, generated: 0, skipped: 1, failed: 0 });
      const tally = await store.jobTally(id);
      assert.deepEqual(tally, {
        tasks: { queued: 0, active: 1, completed: 1, failed: 2, canceled: 1 },
        tiles: { total: 5, generated: 0, skipped: 1, failed: 0, done: 1 },
      });
      assert.deepEqual(tally.tiles, await store.jobCounts(id));
      await store.deleteJobs([id]);
      assert.deepEqual(await store.jobTally(id), {
        tasks: { queued: 0, active: 0, completed: 0, failed: 0, canceled: 0 },
        tiles: { total: 0, generated: 0, skipped: 0, failed: 0, done: 0 },
      });
    });
  });

  describe(`${engine} job store on a database written before migration 5`, { skip }, () => {
    it('migrates it, and hands out the tasks it holds in order', async () => {
      const opened = await open(MIGRATIONS.filter((m) => m.version < 5));
      try {
        const first = await putJob(opened.store, { priority: 40 }, ['queued', 'queued']);
        const second = await putJob(opened.store, { priority: 60 }, ['completed', 'queued']);
        const store = await opened.upgrade();
        assert.deepEqual(await opened.versions(), MIGRATIONS.map((m) => m.version));
        const claimed = [];
        for (let task; (task = await store.claimTask('w', 'claimer'));) claimed.push([task.jobId, task.position]);
        assert.deepEqual(claimed, [[second, 1], [first, 0], [first, 1]]);
      } finally {
        await opened.close();
      }
    });
  });
}

jobStoreContract('SQLite', async (migrations) => {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-farm-store-'));
  const file = join(dir, 'meridian.db');
  let db = openDatabase(file, silent, migrations);
  const count = () => db.prepare('SELECT (SELECT COUNT(*) FROM farm_job WHERE id = ?) + (SELECT COUNT(*) FROM farm_task WHERE job_id = ?) AS n');
  return {
    store: new SqliteJobStore(db),
    rows: async (id) => (count().get(id, id) as { n: number }).n,
    async upgrade() {
      db.close();
      db = openDatabase(file, silent);
      return new SqliteJobStore(db);
    },
    versions: async () => (db.prepare('SELECT version FROM schema_migration ORDER BY version').all() as { version: number }[]).map((r) => r.version),
    async close() { db.close(); rmSync(dir, { recursive: true, force: true }); },
  };
});

const SCHEMA = `meridian_farm_store_${process.pid}`;
jobStoreContract('PostgreSQL', async (migrations) => {
  const client = await freshSchema(SCHEMA);
  const pool = new pg.Pool({ connectionString: inSchema(PG_URL!, SCHEMA) });
  await migrate(pool, silent, migrations);
  const store = new PgJobStore(pool, inSchema(PG_URL!, SCHEMA), silent);
  return {
    store,
    rows: async (id) => Number((await client.query(`SELECT (SELECT COUNT(*) FROM ${SCHEMA}.farm_job WHERE id = $1)
      + (SELECT COUNT(*) FROM ${SCHEMA}.farm_task WHERE job_id = $1) AS n`, [id])).rows[0].n),
    async upgrade() {
      await migrate(pool, silent);
      return store;
    },
    versions: async () => (await client.query(`SELECT version FROM ${SCHEMA}.schema_migration ORDER BY version`)).rows.map((r) => r.version),
    async close() { await pool.end(); await dropSchema(client, SCHEMA); },
  };
}, PG_SKIP);
