// Worker-thread entry: runs tasks one at a time, each by the default export of its module, and
// keeps the layer data shipped to it (one version per layer key) for the tasks that follow.
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, TaskContext, TaskFailure, TaskHandler, TaskMessage, ToWorker, WorkerHealth, WorkerStart } from './protocol.js';
import { SharedResults } from './shared-results.js';

/** Shared result bytes a worker may leave for its own collector before it moves results again. */
const WORKER_SHARED_BYTES = 64 * 2 ** 20;

const port = parentPort!;
const { abandoned } = workerData as WorkerStart;
const isAbandoned = () => Atomics.load(abandoned, 0) === 1;
const layers = new Map<string, { version: number; data: unknown }>();
const handlers = new Map<string, Promise<TaskHandler>>();
const sharedResults = new SharedResults(WORKER_SHARED_BYTES);

function health(): WorkerHealth {
  const h = getHeapStatistics();
  return {
    heapUsed: h.used_heap_size, heapTotal: h.total_heap_size, heapLimit: h.heap_size_limit,
    externalBytes: h.external_memory, sharedBytes: sharedResults.heldBytes, layers: layers.size,
  };
}

function handlerOf(module: string): Promise<TaskHandler> {
  let h = handlers.get(module);
  if (!h) {
    h = import(module).then((m) => {
      if (typeof m.default !== 'function') throw new Error(`task module ${module} has no default export function`);
      return m.default as TaskHandler;
    });
    handlers.set(module, h);
  }
  return h;
}

/** A handler's error, flattened for the trip. */
function failureOf(err: unknown): TaskFailure {
  const e = err as Error & { status?: number; code?: string; title?: string };
  const failure: TaskFailure = { message: e?.message ?? String(err) };
  if (typeof e?.status === 'number') failure.status = e.status;
  if (typeof e?.code === 'string') failure.code = e.code;
  if (typeof e?.title === 'string') failure.title = e.title;
  return failure;
}

async function run(msg: TaskMessage): Promise<void> {
  for (const l of msg.layers) {
    if (l.data !== undefined) layers.set(l.key, { version: l.version, data: l.data });
  }
  // The task's layers as held now: a 'forget' that arrives while the task runs (its layer replaced
  // or evicted meanwhile) must not take them from under it.
  const own = new Map(msg.layers.map((l) => [l.key, layers.get(l.key)?.version === l.version ? layers.get(l.key) : undefined]));
  const transfer: ArrayBuffer[] = [];
  const shared: Uint8Array[] = [];
  const ctx: TaskContext = {
    layer<T>(key: string): T {
      const held = own.get(key);
      if (!held) throw new Error(`layer ${key} was not shipped with this task`);
      return held.data as T;
    },
    transfer: (...buffers) => { transfer.push(...buffers); },
    resultBytes(bytes) {
      if (msg.share && sharedResults.mayShare()) {
        shared.push(sharedResults.copy(bytes));
        return shared[shared.length - 1];
      }
      const moved = bytes.slice();
      transfer.push(moved.buffer);
      return moved;
    },
    throwIfAbandoned() {
      if (isAbandoned()) throw new Error('the task was abandoned: whoever asked has gone');
    },
  };
  let reply: FromWorker;
  try {
    const value = await (await handlerOf(msg.module))(msg.payload, ctx);
    reply = { type: 'done', id: msg.id, value, shared, health: health() };
  } catch (err) {
    transfer.length = 0;
    // Whatever a task threw once abandoned (its own check, or an error wrapping it) reports the stop.
    reply = isAbandoned() ? { type: 'stopped', id: msg.id, health: health() } : { type: 'failed', id: msg.id, error: failureOf(err), health: health() };
  }
  port.postMessage(reply, transfer);
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'forget') layers.delete(msg.key);
  else void run(msg);
});
port.postMessage({ type: 'ready', health: health() } satisfies FromWorker);
