// JobStore on better-sqlite3, in the auth database. The SQL is what PostgreSQL also runs
// (placeholders aside), but for two statements shaped for SQLite: claiming a task (one transaction
// here; PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED) and deleting a chunk of tasks (by rowid).
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { JobStore, Watch } from './job-store.js';
import { ALL_POSITIONS, HIDDEN, insertInto, jobOf, managerOf, NEW_JOB_COLUMNS, NEW_TASK_COLUMNS, newJobValues, newTaskValues, setSetting, settingsOf, tallyOf, taskOf,
  TILE_SUMS, type JobRow, type ManagerRow, type SettingRow, type TallyRow, type TaskRow } from './job-rows.js';
import { DELETING, type JobCounts, type JobRecord, type JobStatus, type JobTally, type ManagerRecord, type ShownJobStatus, type TaskProgress, type TaskRecord,
  type TaskStatus } from './types.js';

/** "status IN (?, ?)" with its values. */
function among(column: string, values: readonly string[]): string {
  return `${column} IN (${values.map(() => '?').join(', ')})`;
}

export class SqliteJobStore implements JobStore {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  async createJob(job: JobRecord): Promise<void> {
    this.sql(insertInto('farm_job', NEW_JOB_COLUMNS, 1, () => '?')).run(...newJobValues(job));
  }

  async addTasks(tasks: readonly TaskRecord[]): Promise<void> {
    const insert = this.sql(insertInto('farm_task', NEW_TASK_COLUMNS, 1, () => '?'));
    this.db.transaction(() => { for (const t of tasks) insert.run(...newTaskValues(t)); })();
  }

  async job(id: string): Promise<JobRecord | undefined> {
    const row = this.sql(`SELECT * FROM farm_job WHERE id = ? AND status NOT IN (${HIDDEN})`).get(id) as JobRow | undefined;
    return row && jobOf(row);
  }

  async jobs(status?: ShownJobStatus): Promise<JobRecord[]> {
    const rows = status
      ? this.sql('SELECT * FROM farm_job WHERE status = ? ORDER BY created DESC, id').all(status)
      : this.sql(`SELECT * FROM farm_job WHERE status NOT IN (${HIDDEN}) ORDER BY created DESC, id`).all();
    return (rows as JobRow[]).map(jobOf);
  }

  async setJobStatus(id: string, status: JobStatus, activity: string, from?: readonly JobStatus[]): Promise<boolean> {
    const condition = from ? ` AND ${among('status', from)}` : '';
    return this.sql(`UPDATE farm_job SET status = ?, activity = ?, updated = ? WHERE id = ?${condition}`)
      .run(status, activity, Date.now(), id, ...(from ?? [])).changes > 0;
  }

  /** Hides the jobs `where` selects (its values after the manager's and the time) for deletion by `manager`; answers their ids. */
  private hide(manager: string, where: string, ...values: unknown[]): string[] {
    return (this.sql(`UPDATE farm_job SET status = '${DELETING}', activity = 'being deleted', manager = ?, updated = ? WHERE ${where} RETURNING id`)
      .all(manager, Date.now(), ...values) as { id: string }[]).map((r) => r.id);
  }

  async hideForDeletion(ids: readonly string[], manager: string): Promise<string[]> {
    return ids.length === 0 ? [] : this.hide(manager, among('id', ids), ...ids);
  }

  async takeInterrupted(manager: string): Promise<string[]> {
    return this.hide(manager, `status IN (${HIDDEN}) AND manager = ?`, manager);
  }

  async takeAbandoned(before: number, manager: string): Promise<string[]> {
    return this.hide(manager, `status IN (${HIDDEN}) AND manager <> ? AND manager IN (SELECT uuid FROM farm_manager WHERE last_seen < ?)`, manager, before);
  }

  async deleteTasks(jobId: string, limit: number): Promise<number> {
    return this.sql('DELETE FROM farm_task WHERE rowid IN (SELECT rowid FROM farm_task WHERE job_id = ? LIMIT ?)').run(jobId, limit).changes;
  }

  async deleteJobs(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.sql(`DELETE FROM farm_job WHERE ${among('id', ids)}`).run(...ids).changes;
  }

  async jobCounts(id: string): Promise<JobCounts> {
    return { ...this.sql(`SELECT ${TILE_SUMS} FROM farm_task WHERE job_id = ?`).get(id) as JobCounts };
  }

  async jobTally(id: string): Promise<JobTally> {
    return tallyOf(this.sql(`SELECT status, COUNT(*) AS n, ${TILE_SUMS} FROM farm_task WHERE job_id = ? GROUP BY status`).all(id) as TallyRow[]);
  }

  async task(id: string): Promise<TaskRecord | undefined> {
    const row = this.sql('SELECT * FROM farm_task WHERE id = ?').get(id) as TaskRow | undefined;
    return row && taskOf(row);
  }

  async taskPage(jobId: string, after: number, limit: number): Promise<TaskRecord[]> {
    return (this.sql('SELECT * FROM farm_task WHERE job_id = ? AND position > ? ORDER BY position LIMIT ?').all(jobId, after, limit) as TaskRow[]).map(taskOf);
  }

  async setTaskStatus(id: string, status: TaskStatus, activity: string, from?: readonly TaskStatus[]): Promise<boolean> {
    const condition = from ? ` AND ${among('status', from)}` : '';
    return this.sql(`UPDATE farm_task SET status = ?, activity = ?, updated = ? WHERE id = ?${condition}`)
      .run(status, activity, Date.now(), id, ...(from ?? [])).changes > 0;
  }

  async setJobTasksStatus(jobId: string, status: TaskStatus, from: readonly TaskStatus[], window = ALL_POSITIONS): Promise<void> {
    this.sql(`UPDATE farm_task SET status = ?, updated = ? WHERE job_id = ? AND position >= ? AND position < ? AND ${among('status', from)}`)
      .run(status, Date.now(), jobId, window.from, window.to, ...from);
  }

  async resetJobTasks(jobId: string, window = ALL_POSITIONS): Promise<void> {
    this.sql(`UPDATE farm_task SET status = 'queued', activity = '', worker = NULL, manager = NULL, cleared = 0, next_index = 0,
      tiles_generated = 0, tiles_skipped = 0, tiles_failed = 0, updated = ? WHERE job_id = ? AND position >= ? AND position < ?`)
      .run(Date.now(), jobId, window.from, window.to);
  }

  async claimTask(worker: string, manager: string): Promise<TaskRecord | undefined> {
    return this.db.transaction(() => {
      // The first job in claim order (priority, age, id) with a task queued, then its queued task of lowest
      // position: the order PostgreSQL's join sorts in, walked down two indexes (migration 5). As one join,
      // SQLite sorted every queued task for each claim (15–40 ms at the cap): it carries no order through
      // a join on a nullable key (farm_job.id), and without statistics took farm_job_status for the IN.
      const row = this.sql(`SELECT * FROM farm_task WHERE status = 'queued' AND job_id = (
          SELECT id FROM farm_job INDEXED BY farm_job_claim_order
          WHERE status IN ('queued', 'active') AND EXISTS (SELECT 1 FROM farm_task WHERE job_id = farm_job.id AND status = 'queued')
          ORDER BY priority DESC, created, id LIMIT 1)
        ORDER BY position LIMIT 1`).get() as TaskRow | undefined;
      if (!row) return undefined;
      const now = Date.now();
      this.sql(`UPDATE farm_task SET status = 'active', worker = ?, manager = ?, updated = ? WHERE id = ?`).run(worker, manager, now, row.id);
      this.sql(`UPDATE farm_job SET status = 'active', activity = 'seeding', updated = ? WHERE id = ? AND status = 'queued'`).run(now, row.job_id);
      return taskOf({ ...row, status: 'active', worker, manager, updated: now });
    })();
  }

  async saveProgress(id: string, worker: string, manager: string, p: TaskProgress): Promise<boolean> {
    return this.sql(`UPDATE farm_task SET next_index = ?, tiles_generated = ?, tiles_skipped = ?, tiles_failed = ?, updated = ?
      WHERE id = ? AND worker = ? AND manager = ?`).run(p.nextIndex, p.generated, p.skipped, p.failed, Date.now(), id, worker, manager).changes > 0;
  }

  async markCleared(id: string): Promise<void> {
    this.sql('UPDATE farm_task SET cleared = 1, updated = ? WHERE id = ?').run(Date.now(), id);
  }

  async requeueInterrupted(manager: string): Promise<number> {
    return this.sql(`UPDATE farm_task SET status = 'queued', worker = NULL, activity = 'interrupted, queued again', updated = ?
      WHERE status = 'active' AND manager = ?`).run(Date.now(), manager).changes;
  }

  async requeueAbandoned(before: number, except: string): Promise<number> {
    return this.sql(`UPDATE farm_task SET status = 'queued', worker = NULL, activity = 'its manager stopped answering, queued again', updated = ?
      WHERE status = 'active' AND manager <> ? AND manager IN (SELECT uuid FROM farm_manager WHERE last_seen < ?)`).run(Date.now(), except, before).changes;
  }

  async hasOpenTasks(jobId: string): Promise<boolean> {
    return this.sql(`SELECT 1 FROM farm_task WHERE job_id = ? AND status IN ('queued', 'active') LIMIT 1`).get(jobId) !== undefined;
  }

  async taskPositions(jobId: string): Promise<number> {
    return (this.sql('SELECT COALESCE(MAX(position) + 1, 0) AS n FROM farm_task WHERE job_id = ?').get(jobId) as { n: number }).n;
  }

  async managers(): Promise<ManagerRecord[]> {
    return (this.sql('SELECT * FROM farm_manager ORDER BY registered, uuid').all() as ManagerRow[]).map(managerOf);
  }

  async manager(uuid: string): Promise<ManagerRecord | undefined> {
    const row = this.sql('SELECT * FROM farm_manager WHERE uuid = ?').get(uuid) as ManagerRow | undefined;
    return row && managerOf(row);
  }

  async registerManager(name: string, url: string | null, totalWorkers: number): Promise<ManagerRecord> {
    const now = Date.now();
    this.sql(`INSERT INTO farm_manager (uuid, name, url, total_workers, registered, last_seen) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET url = excluded.url, total_workers = excluded.total_workers, last_seen = excluded.last_seen`)
      .run(randomUUID(), name, url, totalWorkers, now, now);
    return managerOf(this.sql('SELECT * FROM farm_manager WHERE name = ?').get(name) as ManagerRow);
  }

  async touchManager(uuid: string): Promise<void> {
    this.sql('UPDATE farm_manager SET last_seen = ? WHERE uuid = ?').run(Date.now(), uuid);
  }

  async setManagerWorkers(uuid: string, totalWorkers: number): Promise<boolean> {
    return this.sql('UPDATE farm_manager SET total_workers = ?, last_seen = ? WHERE uuid = ?').run(totalWorkers, Date.now(), uuid).changes > 0;
  }

  async settings(): Promise<Record<string, number>> {
    return settingsOf(this.sql('SELECT name, value FROM farm_setting').all() as SettingRow[]);
  }

  async saveSettings(changes: Readonly<Record<string, number | null>>): Promise<void> {
    const [set, unset] = [this.sql(setSetting(() => '?')), this.sql('DELETE FROM farm_setting WHERE name = ?')];
    this.db.transaction(() => {
      for (const [name, value] of Object.entries(changes)) (value === null ? unset.run(name) : set.run(name, value));
    })();
  }

  /**
   * No notices: SQLite is one process's database (scale-out and the cluster option need PostgreSQL);
   * another instance started over the same file reads the settings at its start.
   */
  async watchSettings(): Promise<Watch> {
    return { close: async () => {} };
  }
}
