// What a seeding job is, in Flamenco's vocabulary: a job split into tasks, run by workers.
import type { BBox } from '../store/types.js';
import type { TileFormat } from '../tiles/store.js';

/** seed: make the tiles the store lacks; reseed: clear then make them all; truncate: clear only. */
export const JOB_TYPES = ['seed', 'reseed', 'truncate'] as const;
export type JobType = (typeof JOB_TYPES)[number];

/** Flamenco's job statuses that Meridian shows (lists, filters by, commands). */
export const SHOWN_JOB_STATUSES = ['queued', 'active', 'paused', 'completed', 'failed', 'canceled'] as const;
export type ShownJobStatus = (typeof SHOWN_JOB_STATUSES)[number];
/**
 * Flamenco's status of a job whose tasks are still being stored (farm/construction.ts): no listing,
 * command or worker sees such a job, so none sees it with only part of its tasks.
 */
export const UNDER_CONSTRUCTION = 'under-construction';
/** Meridian's status of a job whose rows are being deleted (farm/deletion.ts), hidden the same way. */
export const DELETING = 'deleting';
/** The statuses of the jobs no read shows. */
export const HIDDEN_STATUSES = [UNDER_CONSTRUCTION, DELETING] as const;
export type JobStatus = ShownJobStatus | (typeof HIDDEN_STATUSES)[number];

export const TASK_STATUSES = ['queued', 'active', 'completed', 'failed', 'canceled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** A job as submitted (validated). */
export interface JobSpec {
  name: string;
  type: JobType;
  format: TileFormat;
  /** Feature layers for mvt, styles for png, in tile order. */
  resources: number[];
  zoom: [number, number];
  bbox: BBox;
  priority: number;
}

export interface JobRecord extends JobSpec {
  id: string;
  status: JobStatus;
  activity: string;
  tilesTotal: number;
  /** The manager it was submitted to, which stores its tasks (null for jobs stored before it was kept). */
  manager: string | null;
  created: number;
  updated: number;
}

/** Tiles z / x_min..x_max / y_min..y_max, visited row by row. */
export interface TileBlock {
  z: number;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

export interface TaskProgress {
  /** Index in the block of the next tile to visit: tiles before it are done. */
  nextIndex: number;
  generated: number;
  skipped: number;
  failed: number;
}

export interface TaskRecord extends TileBlock, TaskProgress {
  id: string;
  jobId: string;
  position: number;
  status: TaskStatus;
  activity: string;
  worker: string | null;
  manager: string | null;
  /** Its tiles were removed from the store (reseed and truncate do this first). */
  cleared: boolean;
  tilesTotal: number;
  updated: number;
}

/** Sums over a job's tasks. */
export interface JobCounts {
  total: number;
  generated: number;
  skipped: number;
  failed: number;
  /** Tiles visited (generated, skipped, failed, or removed by a truncate). */
  done: number;
}

/** How many of a job's tasks have each status, and its tile counts: both read at once, when the job ends. */
export interface JobTally {
  tasks: Record<TaskStatus, number>;
  tiles: JobCounts;
}

export interface ManagerRecord {
  uuid: string;
  name: string;
  url: string | null;
  totalWorkers: number;
  registered: number;
  lastSeen: number;
}

/** Task positions from `from` up to, not including, `to`. */
export interface TaskWindow {
  from: number;
  to: number;
}
