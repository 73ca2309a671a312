// Messages between the pool (main thread) and its workers. Data crosses by structured clone, so
// SharedArrayBuffers inside payloads and layer data are shared, not copied.

/** A layer's data as a worker receives it: sent once per worker per version, then cached there. */
export interface LayerShipment {
  key: string;
  version: number;
  /** Present only when this worker does not hold this version yet. */
  data?: unknown;
}

export interface TaskMessage {
  type: 'task';
  id: number;
  task: string;
  /** URL of the module whose default export handles the task. */
  module: string;
  payload: unknown;
  layers: LayerShipment[];
  /** Whether the main thread takes result bytes in shared memory now (see shared-results.ts). */
  share: boolean;
}

export interface ForgetMessage {
  type: 'forget';
  key: string;
}

export type ToWorker = TaskMessage | ForgetMessage;

/** What the worker reports about itself with every answer (read by `stats()`). */
export interface WorkerHealth {
  heapUsed: number;
  heapTotal: number;
  heapLimit: number;
  externalBytes: number;
  /** Result bytes this worker shared and has not yet collected. */
  sharedBytes: number;
  layers: number;
}

/** A handler's error, flattened for the trip: status and code survive so routes can answer them. */
export interface TaskFailure {
  message: string;
  status?: number;
  code?: string;
}

export type FromWorker =
  | { type: 'ready'; health: WorkerHealth }
  /** `shared`: the result bytes of `value` in shared memory (the same objects), for the main thread's ledger. */
  | { type: 'done'; id: number; value: unknown; shared: Uint8Array[]; health: WorkerHealth }
  | { type: 'failed'; id: number; error: TaskFailure; health: WorkerHealth };

/** What a task handler receives beside its payload. */
export interface TaskContext {
  /** The data of a layer shipped with this task (throws when the task did not ask for it). */
  layer<T>(key: string): T;
  /** Buffers of the result to move (not copy) back to the main thread. */
  transfer(...buffers: ArrayBuffer[]): void;
  /**
   * A copy of `bytes` to put in the result: in shared memory while both threads' ledgers allow it
   * (see shared-results.ts), else moved back. For large results (tiles) that the main thread keeps.
   */
  resultBytes(bytes: Uint8Array): Uint8Array;
}

/** The default export of a task module. */
export type TaskHandler<P = any, R = unknown> = (payload: P, ctx: TaskContext) => R | Promise<R>;
