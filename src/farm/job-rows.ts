// Farm rows as both SQL engines return them (BIGINTs read as numbers), and the records they hold.
import { HIDDEN_STATUSES, TASK_STATUSES, type JobCounts, type JobRecord, type JobTally, type JobStatus, type ManagerRecord, type TaskRecord, type TaskStatus, type TaskWindow } from './types.js';

export interface JobRow {
  id: string; name: string; type: JobRecord['type']; format: JobRecord['format']; resources: string;
  zoom_min: number; zoom_max: number; bbox: string; priority: number; status: JobStatus; activity: string;
  tiles_total: number; manager: string | null; created: number; updated: number;
}

export interface TaskRow {
  id: string; job_id: string; position: number; z: number; x_min: number; x_max: number; y_min: number; y_max: number;
  status: TaskStatus; activity: string; worker: string | null; manager: string | null; cleared: number; next_index: number;
  tiles_total: number; tiles_generated: number; tiles_skipped: number; tiles_failed: number; updated: number;
}

export interface ManagerRow { uuid: string; name: string; url: string | null; total_workers: number; registered: number; last_seen: number }

/** A row of "SELECT status, COUNT(*) AS n, TILE_SUMS … GROUP BY status". */
export interface TallyRow extends JobCounts { status: TaskStatus; n: number }

export const jobOf = (r: JobRow): JobRecord => ({
  id: r.id, name: r.name, type: r.type, format: r.format, resources: JSON.parse(r.resources), zoom: [r.zoom_min, r.zoom_max],
  bbox: JSON.parse(r.bbox), priority: r.priority, status: r.status, activity: r.activity, tilesTotal: r.tiles_total,
  manager: r.manager, created: r.created, updated: r.updated,
});

export const taskOf = (r: TaskRow): TaskRecord => ({
  id: r.id, jobId: r.job_id, position: r.position, z: r.z, xMin: r.x_min, xMax: r.x_max, yMin: r.y_min, yMax: r.y_max,
  status: r.status, activity: r.activity, worker: r.worker, manager: r.manager, cleared: r.cleared === 1,
  nextIndex: r.next_index, tilesTotal: r.tiles_total, generated: r.tiles_generated, skipped: r.tiles_skipped,
  failed: r.tiles_failed, updated: r.updated,
});

export const managerOf = (r: ManagerRow): ManagerRecord => ({
  uuid: r.uuid, name: r.name, url: r.url, totalWorkers: r.total_workers, registered: r.registered, lastSeen: r.last_seen,
});

/** The column each JobCounts field sums. */
const TILE_COLUMNS: Record<keyof JobCounts, string> = { total: 'tiles_total', generated: 'tiles_generated', skipped: 'tiles_skipped', failed: 'tiles_failed', done: 'next_index' };

/** The JobCounts of a job's tasks in SQL, for "SELECT … FROM farm_task WHERE job_id = …" (pg reads the BIGINT sums as numbers). */
export const TILE_SUMS = Object.entries(TILE_COLUMNS).map(([name, column]) => `COALESCE(SUM(${column}), 0) AS ${name}`).join(', ');

/** A job's tally from its TallyRows: 0 tasks for a status no row names, the tiles summed over the rows. */
export function tallyOf(rows: readonly TallyRow[]): JobTally {
  const tasks = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  const tiles: JobCounts = { total: 0, generated: 0, skipped: 0, failed: 0, done: 0 };
  for (const { status, n, ...sums } of rows) {
    tasks[status] = n;
    for (const k of Object.keys(TILE_COLUMNS) as (keyof JobCounts)[]) tiles[k] += sums[k];
  }
  return { tasks, tiles };
}

/** "INSERT INTO table (columns) VALUES (…), (…)" for `rows` rows, the k-th value (from 1) written `mark(k)`. */
export function insertInto(table: string, columns: readonly string[], rows: number, mark: (k: number) => string): string {
  const values = Array.from({ length: rows }, (_, r) => `(${columns.map((_, c) => mark(r * columns.length + c + 1)).join(', ')})`);
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values.join(', ')}`;
}

/** Stores one setting, its name and value written `mark(1)` and `mark(2)`. */
export const setSetting = (mark: (k: number) => string) =>
  `INSERT INTO farm_setting (name, value) VALUES (${mark(1)}, ${mark(2)}) ON CONFLICT (name) DO UPDATE SET value = excluded.value`;

export interface SettingRow { name: string; value: number }

/** Rows of farm_setting as settings by name. */
export const settingsOf = (rows: readonly SettingRow[]): Record<string, number> => Object.fromEntries(rows.map((r) => [r.name, r.value]));

/** "'under-construction', 'deleting'": the hidden statuses in SQL, for "status IN (…)" and "NOT IN". */
export const HIDDEN = HIDDEN_STATUSES.map((s) => `'${s}'`).join(', ');

/** Every task position: a job-wide update without a window. */
export const ALL_POSITIONS: TaskWindow = { from: 0, to: Number.MAX_SAFE_INTEGER };

/** The columns a new job row is written with, and its values in their order (both engines' INSERT). */
export const NEW_JOB_COLUMNS = ['id', 'name', 'type', 'format', 'resources', 'zoom_min', 'zoom_max', 'bbox', 'priority', 'status', 'activity',
  'tiles_total', 'manager', 'created', 'updated'];

export const newJobValues = (j: JobRecord): unknown[] => [j.id, j.name, j.type, j.format, JSON.stringify(j.resources), j.zoom[0], j.zoom[1],
  JSON.stringify(j.bbox), j.priority, j.status, j.activity, j.tilesTotal, j.manager, j.created, j.updated];

/** The same for a new task row (its progress columns keep their defaults). */
export const NEW_TASK_COLUMNS = ['id', 'job_id', 'position', 'z', 'x_min', 'x_max', 'y_min', 'y_max', 'status', 'activity', 'tiles_total', 'updated'];

export const newTaskValues = (t: TaskRecord): unknown[] => [t.id, t.jobId, t.position, t.z, t.xMin, t.xMax, t.yMin, t.yMax, t.status, t.activity,
  t.tilesTotal, t.updated];
