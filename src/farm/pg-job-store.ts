// JobStore on PostgreSQL (MERIDIAN_DATABASE_URL): one queue that the seeding workers of every
// instance take tasks from. Claiming locks the next queued task row with FOR UPDATE SKIP LOCKED,
// so two instances asking at once get different tasks without waiting on each other. A change of
// the farm settings is announced to every instance by NOTIFY, as auth changes are.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { ChangeListener } from '../auth/pg-changes.js';
import { guarded, inTransaction } from '../store/postgis/connections.js';
import type { JobStore, Watch } from './job-store.js';
import { ALL_POSITIONS, HIDDEN, insertInto, jobOf, managerOf, NEW_JOB_COLUMNS, NEW_TASK_COLUMNS, newJobValues, newTaskValues, setSetting, settingsOf, tallyOf, taskOf,
  TILE_SUMS, type JobRow, type ManagerRow, type SettingRow, type TallyRow, type TaskRow } from './job-rows.js';
import { DELETING, type JobCounts, type JobRecord, type JobStatus, type JobTally, type ManagerRecord, type ShownJobStatus, type TaskProgress, type TaskRecord,
  type TaskStatus } from './types.js';

/** BIGINT columns (epoch milliseconds, tile counts) as numbers, as SQLite gives them. */
const NUMBERS: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => (oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as pg.CustomTypesConfig['getTypeParser'],
};

type Queryable = Pick<pg.Pool, 'query'>;

/** "column IN ($k, $k+1 …)" for values placed after `before` parameters. */
const among = (column: string, values: readonly string[], before: number) =>
  `${column} IN (${values.map((_, i) => `$${before + i + 1}`).join(', ')})`;

/** The channel a change of the farm settings is announced on (see pg-changes.ts). */
const SETTINGS_CHANNEL = 'meridian_farm_settings';

export class PgJobStore implements JobStore {
  /** `url` is the pool's database, for the connection that listens for settings changes. */
  constructor(private readonly db: pg.Pool, private readonly url: string, private readonly log: Logger) {}

  private async rows<R extends pg.QueryResultRow>(text: string, values: unknown[] = [], on: Queryable = this.db): Promise<R[]> {
    return (await guarded('the jobs database', () => on.query<R>({ text, values, types: NUMBERS }))).rows;
  }

  private async changed(text: string, values: unknown[] = [], on: Queryable = this.db): Promise<number> {
    return (await guarded('the jobs database', () => on.query({ text, values }))).rowCount ?? 0;
  }

  private transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return inTransaction(this.db, 'the jobs database', work);
  }

  async createJob(job: JobRecord): Promise<void> {
    await this.changed(insertInto('farm_job', NEW_JOB_COLUMNS, 1, (k) => `$${k}`), newJobValues(job));
  }

  /** One statement (so one transaction): PostgreSQL takes up to 65,535 values in one, some 5,000 tasks. */
  async addTasks(tasks: readonly TaskRecord[]): Promise<void> {
    if (tasks.length) await this.changed(insertInto('farm_task', NEW_TASK_COLUMNS, tasks.length, (k) => `$${k}`), tasks.flatMap(newTaskValues));
  }

  async job(id: string) {
    const [row] = await this.rows<JobRow>(`SELECT * FROM farm_job WHERE id = $1 AND status NOT IN (${HIDDEN})`, [id]);
    return row && jobOf(row);
  }

  async jobs(status?: ShownJobStatus) {
    const rows = status
      ? await this.rows<JobRow>('SELECT * FROM farm_job WHERE status = $1 ORDER BY created DESC, id', [status])
      : await this.rows<JobRow>(`SELECT * FROM farm_job WHERE status NOT IN (${HIDDEN}) ORDER BY created DESC, id`);
    return rows.map(jobOf);
  }

  async setJobStatus(id: string, status: JobStatus, activity: string, from?: readonly JobStatus[]) {
    const condition = from ? ` AND ${among('status', from, 4)}` : '';
    return (await this.changed(`UPDATE farm_job SET status = $1, activity = $2, updated = $3 WHERE id = $4${condition}`,
      [status, activity, Date.now(), id, ...(from ?? [])])) > 0;
  }

  /** Hides the jobs `where` selects (its parameters from $3, after the manager and the time) for deletion by `manager`; answers their ids. */
  private async hide(manager: string, where: string, ...values: unknown[]): Promise<string[]> {
    return (await this.rows<{ id: string }>(`UPDATE farm_job SET status = '${DELETING}', activity = 'being deleted', manager = $1, updated = $2
      WHERE ${where} RETURNING id`, [manager, Date.now(), ...values])).map((r) => r.id);
  }

  async hideForDeletion(ids: readonly string[], manager: string) {
    return ids.length === 0 ? [] : this.hide(manager, among('id', ids, 2), ...ids);
  }

  async takeInterrupted(manager: string) {
    return this.hide(manager, `status IN (${HIDDEN}) AND manager = $3`, manager);
  }

  async takeAbandoned(before: number, manager: string) {
    return this.hide(manager, `status IN (${HIDDEN}) AND manager <> $3 AND manager IN (SELECT uuid FROM farm_manager WHERE last_seen < $4)`, manager, before);
  }

  async deleteTasks(jobId: string, limit: number) {
    return this.changed('DELETE FROM farm_task WHERE id IN (SELECT id FROM farm_task WHERE job_id = $1 LIMIT $2)', [jobId, limit]);
  }

  async deleteJobs(ids: readonly string[]) {
    return ids.length ? this.changed(`DELETE FROM farm_job WHERE ${among('id', ids, 0)}`, [...ids]) : 0;
  }

  async jobCounts(id: string): Promise<JobCounts> {
    const [r] = await this.rows<JobCounts>(`SELECT ${TILE_SUMS} FROM farm_task WHERE job_id = $1`, [id]);
    return { ...r };
  }

  async jobTally(id: string): Promise<JobTally> {
    return tallyOf(await this.rows<TallyRow>(`SELECT status, COUNT(*) AS n, ${TILE_SUMS} FROM farm_task WHERE job_id = $1 GROUP BY status`, [id]));
  }

  async task(id: string) {
    const [row] = await this.rows<TaskRow>('SELECT * FROM farm_task WHERE id = $1', [id]);
    return row && taskOf(row);
  }

  async taskPage(jobId: string, after: number, limit: number) {
    return (await this.rows<TaskRow>('SELECT * FROM farm_task WHERE job_id = $1 AND position > $2 ORDER BY position LIMIT $3', [jobId, after, limit])).map(taskOf);
  }

  async setTaskStatus(id: string, status: TaskStatus, activity: string, from?: readonly TaskStatus[]) {
    const condition = from ? ` AND ${among('status', from, 4)}` : '';
    return (await this.changed(`UPDATE farm_task SET status = $1, activity = $2, updated = $3 WHERE id = $4${condition}`,
      [status, activity, Date.now(), id, ...(from ?? [])])) > 0;
  }

  async setJobTasksStatus(jobId: string, status: TaskStatus, from: readonly TaskStatus[], window = ALL_POSITIONS) {
    await this.changed(`UPDATE farm_task SET status = $1, updated = $2 WHERE job_id = $3 AND position >= $4 AND position < $5 AND ${among('status', from, 5)}`,
      [status, Date.now(), jobId, window.from, window.to, ...from]);
  }

  async resetJobTasks(jobId: string, window = ALL_POSITIONS) {
    await this.changed(`UPDATE farm_task SET status = 'queued', activity = '', worker = NULL, manager = NULL, cleared = 0, next_index = 0,
      tiles_generated = 0, tiles_skipped = 0, tiles_failed = 0, updated = $1 WHERE job_id = $2 AND position >= $3 AND position < $4`,
      [Date.now(), jobId, window.from, window.to]);
  }

  async claimTask(worker: string, manager: string): Promise<TaskRecord | undefined> {
    return this.transaction(async (tx) => {
      const now = Date.now();
      // SKIP LOCKED: a task another instance is claiming right now is passed over, not waited for.
      // Job after job in claim order, each asked for its first queued task down its index
      // (migration 5): as one join, every queued task was sorted for each claim (~30 ms at the cap).
      // The jobs are sorted before the join (so it stops at the first job with a task, having
      // locked no task of the others), and the answer by the same keys (SQL keeps no subquery's order).
      const [row] = await this.rows<TaskRow>(`UPDATE farm_task SET status = 'active', worker = $1, manager = $2, updated = $3
        WHERE id = (SELECT t.id FROM (SELECT id, priority, created FROM farm_job WHERE status IN ('queued', 'active')
            ORDER BY priority DESC, created, id) j
          CROSS JOIN LATERAL (SELECT id FROM farm_task WHERE job_id = j.id AND status = 'queued' ORDER BY position
            LIMIT 1 FOR UPDATE SKIP LOCKED) t
          ORDER BY j.priority DESC, j.created, j.id LIMIT 1)
        RETURNING *`, [worker, manager, now], tx);
      if (!row) return undefined;
      await this.changed(`UPDATE farm_job SET status = 'active', activity = 'seeding', updated = $1 WHERE id = $2 AND status = 'queued'`, [now, row.job_id], tx);
      return taskOf(row);
    });
  }

  async saveProgress(id: string, worker: string, manager: string, p: TaskProgress) {
    return (await this.changed(`UPDATE farm_task SET next_index = $1, tiles_generated = $2, tiles_skipped = $3, tiles_failed = $4, updated = $5
      WHERE id = $6 AND worker = $7 AND manager = $8`, [p.nextIndex, p.generated, p.skipped, p.failed, Date.now(), id, worker, manager])) > 0;
  }

  async markCleared(id: string) {
    await this.changed('UPDATE farm_task SET cleared = 1, updated = $1 WHERE id = $2', [Date.now(), id]);
  }

  async requeueInterrupted(manager: string) {
    return this.changed(`UPDATE farm_task SET status = 'queued', worker = NULL, activity = 'interrupted, queued again', updated = $1
      WHERE status = 'active' AND manager = $2`, [Date.now(), manager]);
  }

  async requeueAbandoned(before: number, except: string) {
    return this.changed(`UPDATE farm_task SET status = 'queued', worker = NULL, activity = 'its manager stopped answering, queued again', updated = $1
      WHERE status = 'active' AND manager <> $2 AND manager IN (SELECT uuid FROM farm_manager WHERE last_seen < $3)`, [Date.now(), except, before]);
  }

  async hasOpenTasks(jobId: string) {
    return (await this.rows(`SELECT 1 FROM farm_task WHERE job_id = $1 AND status IN ('queued', 'active') LIMIT 1`, [jobId])).length > 0;
  }

  async taskPositions(jobId: string) {
    return (await this.rows<{ n: number }>('SELECT COALESCE(MAX(position) + 1, 0)::int AS n FROM farm_task WHERE job_id = $1', [jobId]))[0].n;
  }

  async managers() {
    return (await this.rows<ManagerRow>('SELECT * FROM farm_manager ORDER BY registered, uuid')).map(managerOf);
  }

  async manager(uuid: string) {
    const [row] = await this.rows<ManagerRow>('SELECT * FROM farm_manager WHERE uuid = $1', [uuid]);
    return row && managerOf(row);
  }

  async registerManager(name: string, url: string | null, totalWorkers: number): Promise<ManagerRecord> {
    const now = Date.now();
    const [row] = await this.rows<ManagerRow>(`INSERT INTO farm_manager (uuid, name, url, total_workers, registered, last_seen) VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (name) DO UPDATE SET url = excluded.url, total_workers = excluded.total_workers, last_seen = excluded.last_seen
      RETURNING *`, [randomUUID(), name, url, totalWorkers, now, now]);
    return managerOf(row);
  }

  async touchManager(uuid: string) {
    await this.changed('UPDATE farm_manager SET last_seen = $1 WHERE uuid = $2', [Date.now(), uuid]);
  }

  async setManagerWorkers(uuid: string, totalWorkers: number) {
    return (await this.changed('UPDATE farm_manager SET total_workers = $1, last_seen = $2 WHERE uuid = $3', [totalWorkers, Date.now(), uuid])) > 0;
  }

  async settings() {
    return settingsOf(await this.rows<SettingRow>('SELECT name, value FROM farm_setting'));
  }

  /** Ends by telling every instance (this one too) that settings changed: NOTIFY is delivered at commit, with the rows. */
  async saveSettings(changes: Readonly<Record<string, number | null>>) {
    await this.transaction(async (tx) => {
      for (const [name, value] of Object.entries(changes)) {
        if (value === null) await this.changed('DELETE FROM farm_setting WHERE name = $1', [name], tx);
        else await this.changed(setSetting((k) => `$${k}`), [name, value], tx);
      }
      await this.changed('SELECT pg_notify($1, $2)', [SETTINGS_CHANNEL, String(process.pid)], tx);
    });
  }

  async watchSettings(changed: () => void): Promise<Watch> {
    const listener = new ChangeListener(this.url, SETTINGS_CHANNEL, this.log, changed);
    await listener.start();
    return listener;
  }
}
