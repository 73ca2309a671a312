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

/** A handler's error, flattened for the trip: status, code and title survive so routes can answer them. */
export interface TaskFailure {
  message: string;
  status?: number;
  code?: string;
  title?: string;
}

/**
 * What a worker is given at its start. `abandoned`: one Int32 the pool sets to 1 when whoever asked
 * for the task now running has gone, and back to 0 before the next. Shared memory rather than a
 * message: the long tasks (a render's projection and SVG, a tile's cut) run for seconds without
 * a turn of the event loop, so a message would be read only once they end; an atomic read is
 * seen at once and costs a few nanoseconds, cheap enough for every thousand features.
 */
export interface WorkerStart {
  abandoned: Int32Array;
}

export type FromWorker =
  | { type: 'ready'; health: WorkerHealth }
  /** `shared`: the result bytes of `value` in shared memory (the same objects), for the main thread's ledger. */
  | { type: 'done'; id: number; value: unknown; shared: Uint8Array[]; health: WorkerHealth }
  | { type: 'failed'; id: number; error: TaskFailure; health: WorkerHealth }
  /** The task stopped early: whoever asked had gone (TaskContext.throwIfAbandoned). */
  | { type: 'stopped'; id: number; health: WorkerHealth };

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
  /**
   * Throws once whoever asked for the task has gone (RunOptions.signal), so that a long task stops
   * and frees its worker; the asker's promise then rejects with the signal's reason. One atomic
   * read: call it in long loops, every thousand features or so.
   */
  throwIfAbandoned(): void;
}

/** The default export of a task module. */
export type TaskHandler<P = any, R = unknown> = (payload: P, ctx: TaskContext) => R | Promise<R>;
