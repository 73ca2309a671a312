// What the farm needs from storage, behind an interface so that a PostgreSQL store (scale-out) can
// sit beside the SQLite one. Every method returns a promise for that reason. Status changes that
// race (a command against a worker finishing) are conditional updates: `from` lists the statuses
// the row must have, and the answer says whether it changed. A job under construction (its tasks
// still being stored, see construction.ts) or being deleted (deletion.ts) is passed over by the
// reads of jobs (job, jobs) and by claimTask; task and taskPage read tasks whatever their job's
// status, and their callers look the job up (GET /tasks/:id before, task-list.ts after reading them).
import type { JobCounts, JobRecord, JobStatus, JobTally, ManagerRecord, ShownJobStatus, TaskProgress, TaskRecord, TaskStatus, TaskWindow } from './types.js';

export interface JobStore {
  /** Stores a job, with no task yet. */
  createJob(job: JobRecord): Promise<void>;
  /** Stores tasks of a job, in one transaction. */
  addTasks(tasks: readonly TaskRecord[]): Promise<void>;
  job(id: string): Promise<JobRecord | undefined>;
  /** Newest first; only `status` ones when given. */
  jobs(status?: ShownJobStatus): Promise<JobRecord[]>;
  setJobStatus(id: string, status: JobStatus, activity: string, from?: readonly JobStatus[]): Promise<boolean>;
  /** Hides jobs (of any status) for deletion by `manager` (deletion.ts); answers the ids of those found. */
  hideForDeletion(ids: readonly string[], manager: string): Promise<string[]>;
  /**
   * Hides for deletion the jobs `manager` left under construction or being deleted (it stopped in
   * the middle of a submission or a deletion); answers their ids.
   */
  takeInterrupted(manager: string): Promise<string[]>;
  /**
   * Hides for deletion by `manager` the jobs left so by other managers last seen before `before`
   * (epoch ms); answers their ids.
   */
  takeAbandoned(before: number, manager: string): Promise<string[]>;
  /** Deletes up to `limit` tasks of a job; answers how many went. */
  deleteTasks(jobId: string, limit: number): Promise<number>;
  /** Deletes jobs with what is left of their tasks (deletion.ts deletes these first); answers how many jobs went. */
  deleteJobs(ids: readonly string[]): Promise<number>;
  jobCounts(id: string): Promise<JobCounts>;
  /** How many of a job's tasks have each status, and its JobCounts, in one read of its tasks. */
  jobTally(id: string): Promise<JobTally>;

  task(id: string): Promise<TaskRecord | undefined>;
  /** The tasks of a job after position `after`, in position order, at most `limit` (task-list.ts reads them so), whatever its status. */
  taskPage(jobId: string, after: number, limit: number): Promise<TaskRecord[]>;
  setTaskStatus(id: string, status: TaskStatus, activity: string, from?: readonly TaskStatus[]): Promise<boolean>;
  /** Sets the status of a job's tasks that are in one of `from` (those at positions in `window` only, when given). */
  setJobTasksStatus(jobId: string, status: TaskStatus, from: readonly TaskStatus[], window?: TaskWindow): Promise<void>;
  /** Back to queued with no progress (those at positions in `window` only, when given): the job is done again from the start. */
  resetJobTasks(jobId: string, window?: TaskWindow): Promise<void>;
  /**
   * Takes the next queued task of a queued or active job (highest priority, oldest job, first
   * position) for `worker` of `manager`, marking it and its job active; undefined when none is left.
   */
  claimTask(worker: string, manager: string): Promise<TaskRecord | undefined>;
  /**
   * Saves a running task's progress if `worker` of `manager` still holds it; false when it was taken
   * away (queued again because the manager looked stopped), so the worker lets it go.
   */
  saveProgress(id: string, worker: string, manager: string, progress: TaskProgress): Promise<boolean>;
  markCleared(id: string): Promise<void>;
  /** Tasks a manager's workers were running when it stopped go back to the queue (kept progress). */
  requeueInterrupted(manager: string): Promise<number>;
  /**
   * Tasks running on other managers that were last seen before `before` (epoch ms) go back to the
   * queue: those managers stopped without saying so.
   */
  requeueAbandoned(before: number, except: string): Promise<number>;
  /** Whether a job still has tasks queued or active. */
  hasOpenTasks(jobId: string): Promise<boolean>;
  /** One past a job's last task position (its tasks run 0 … n − 1): one index seek, where counting reads them all. */
  taskPositions(jobId: string): Promise<number>;

  managers(): Promise<ManagerRecord[]>;
  manager(uuid: string): Promise<ManagerRecord | undefined>;
  /** Registers a manager by name (re-registering keeps its uuid); answers the record. */
  registerManager(name: string, url: string | null, totalWorkers: number): Promise<ManagerRecord>;
  setManagerWorkers(uuid: string, totalWorkers: number): Promise<boolean>;
  /** A manager's heartbeat: it is alive now. */
  touchManager(uuid: string): Promise<void>;

  /** The farm settings POSTed (settings.ts), by name; one absent follows the configuration. */
  settings(): Promise<Record<string, number>>;
  /** Stores settings in one transaction; null removes one (it follows the configuration again). */
  saveSettings(changes: Readonly<Record<string, number | null>>): Promise<void>;
  /**
   * Calls `changed` when another instance may have changed the settings (on PostgreSQL, by
   * LISTEN/NOTIFY; an SQLite database is one process's); resolves once listening.
   */
  watchSettings(changed: () => void): Promise<Watch>;
}

export interface Watch {
  close(): Promise<void>;
}
