// The worker pool on its own: dispatch by task name, layer data shared once per worker,
// crashed and overrunning workers replaced, graceful restart. (The HTTP side is in mvt-pool.test.ts.)
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ApiError } from '../src/http/errors.js';
import { taskModule, WorkerPool } from '../src/pool/pool.js';
import type { ToWorker } from '../src/pool/protocol.js';
import { until } from './helpers/wait.js';

const TASKS = { fixture: taskModule('./fixtures/pool-tasks.js', import.meta.url) };
// A generous default: worker start-up under tsx on a loaded machine must not count as a hang.
const pool = new WorkerPool({ size: 2, taskTimeoutMs: 15_000, tasks: TASKS });
after(() => pool.close());

test('a task runs by name in a worker and answers', async () => {
  assert.deepEqual(await pool.run('fixture', { action: 'echo', value: { a: [1, 2] } }), { a: [1, 2] });
  await assert.rejects(pool.run('nope', {}), /no handler registered for task "nope"/);
});

test('layer data reaches workers as shared memory and is shipped once per worker per version', async (t) => {
  const posted = t.mock.method(Worker.prototype, 'postMessage');
  /** For each worker thread given a task with this version of the layer: how many of those tasks carried its data. */
  const shipments = (key: string, version: number) => {
    const perThread = new Map<number, number>();
    for (const call of posted.mock.calls) {
      const msg = call.arguments[0] as ToWorker, thread = (call.this as Worker).threadId;
      if (msg.type !== 'task') continue;
      for (const l of msg.layers) {
        if (l.key === key && l.version === version) perThread.set(thread, (perThread.get(thread) ?? 0) + ('data' in l ? 1 : 0));
      }
    }
    return [...perThread.values()];
  };
  const values = new Float64Array(new SharedArrayBuffer(3 * 8));
  values.set([1, 2, 3]);
  const layer = { key: 'test:layer', version: 1, data: () => ({ values }) };
  const sums: number[] = [];
  for (let i = 0; i < 6; i++) sums.push(await pool.run<number>('fixture', { action: 'sum-layer' }, { layers: [layer] }));
  // Each run adds 1 to values[0] in the worker; the main thread sees every write.
  assert.equal(values[0], 7);
  assert.deepEqual(sums, [6, 7, 8, 9, 10, 11]);
  assert.ok(pool.stats().workers.every((w) => w.layers <= 1));
  const first = shipments(layer.key, 1);
  assert.ok(first.length >= 1 && first.every((n) => n === 1), `version 1 sent with its data ${first.join(', ')} times per worker`);
  // A new version, to every worker (a broadcast) and then to whichever is free: one shipment each.
  const replaced = { key: layer.key, version: 2, data: () => ({ values: new Float64Array(new SharedArrayBuffer(5 * 8)) }) };
  const read = { action: 'sleep-then-read', ms: 0, key: layer.key };
  assert.deepEqual((await pool.broadcast<number>('fixture', read, { layers: [replaced] })).map((a) => a.value), [5, 5]);
  assert.deepEqual(await Promise.all(Array.from({ length: 4 }, () => pool.run<number>('fixture', read, { layers: [replaced] }))), [5, 5, 5, 5]);
  assert.deepEqual(shipments(layer.key, 2), [1, 1]);
});

test('a layer forgotten while a task that uses it runs stays with that task', async () => {
  const layer = { key: 'test:replaced', version: 1, data: () => ({ values: new Float64Array(new SharedArrayBuffer(4 * 8)) }) };
  const running = pool.run<number>('fixture', { action: 'sleep-then-read', ms: 300, key: layer.key }, { layers: [layer] });
  await new Promise((r) => setTimeout(r, 100)); // the task holds its layer and sleeps
  pool.forgetLayer(layer.key); // the layer is replaced (a project reloaded): workers drop it
  assert.equal(await running, 4);
  // The next task ships the layer again.
  assert.equal(await pool.run<number>('fixture', { action: 'sleep-then-read', ms: 0, key: layer.key }, { layers: [layer] }), 4);
});

test('a handler error keeps its status and code; the worker survives', async () => {
  const before = pool.stats().workers.map((w) => w.threadId).sort();
  const err = await pool.run('fixture', { action: 'throw' }).catch((e) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 422);
  assert.equal(err.code, 'BAD_THING');
  assert.deepEqual(pool.stats().workers.map((w) => w.threadId).sort(), before);
});

test('a crashed worker fails its task with 503 WORKER_FAILED and is replaced at once', async () => {
  const crashesBefore = pool.stats().crashes;
  const err = await pool.run('fixture', { action: 'crash' }).catch((e) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 503);
  assert.equal(err.code, 'WORKER_FAILED');
  const stats = pool.stats();
  assert.equal(stats.crashes, crashesBefore + 1);
  assert.equal(stats.workers.length, 2);
  assert.equal(await pool.run('fixture', { action: 'echo', value: 'alive' }), 'alive');
});

test('a task over its timeout gets 503 WORKER_TIMEOUT and its worker is replaced', async () => {
  const err = await pool.run('fixture', { action: 'hang' }, { timeoutMs: 300 }).catch((e) => e) as ApiError;
  assert.equal(err.code, 'WORKER_TIMEOUT');
  assert.equal(pool.stats().timeouts, 1);
  assert.equal(pool.stats().workers.length, 2);
  assert.equal(await pool.run('fixture', { action: 'echo', value: 1 }), 1);
});

test('restart replaces every worker without losing a task in flight or queued', async () => {
  const oldThreads = new Set(pool.stats().workers.map((w) => w.threadId));
  const runs = Array.from({ length: 8 }, (_, i) => pool.run('fixture', { action: 'sleep', ms: 100, value: i }));
  await new Promise((r) => setTimeout(r, 20));
  await pool.restart();
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4, 5, 6, 7]);
  const stats = pool.stats();
  assert.equal(stats.workers.length, 2);
  assert.ok(stats.workers.every((w) => !oldThreads.has(w.threadId) && !w.retiring));
  assert.equal(stats.restarts, 1);
  assert.ok(stats.workers.some((w) => w.tasksDone > 0 && w.heapUsed! > 0));
});

test('a full queue refuses at once (503 POOL_BUSY), and a task that waited past its timeout is not started', async () => {
  const small = new WorkerPool({ size: 1, taskTimeoutMs: 15_000, tasks: TASKS, maxQueued: 2 });
  try {
    await small.run('fixture', { action: 'echo', value: 'ready' }); // the worker is up
    const busy = small.run('fixture', { action: 'sleep', ms: 600, value: 'first' });
    const waiting = [
      small.run('fixture', { action: 'echo', value: 'second' }),
      small.run('fixture', { action: 'echo', value: 'late' }, { timeoutMs: 200 }),
    ];
    const refused = await small.run('fixture', { action: 'echo', value: 'third' }).catch((e) => e);
    assert.ok(refused instanceof ApiError);
    assert.deepEqual([refused.status, refused.code, refused.headers?.['Retry-After']], [503, 'POOL_BUSY', '1']);
    assert.equal(await busy, 'first');
    assert.equal(await waiting[0], 'second');
    const late = await waiting[1].catch((e) => e) as ApiError;
    assert.deepEqual([late.status, late.code], [503, 'QUEUE_TIMEOUT'], 'waited 600 ms with a timeout of 200: not started');
    assert.equal(small.stats().queued, 0);
    assert.equal(await small.run('fixture', { action: 'echo', value: 'after' }), 'after');
  } finally {
    await small.close();
  }
});

test('a task whose asker has gone is dropped while queued (reason kept), refused when already gone, and run to its end once started if it never checks', async () => {
  const small = new WorkerPool({ size: 1, taskTimeoutMs: 15_000, tasks: TASKS });
  try {
    await small.run('fixture', { action: 'echo', value: 'ready' });
    const doneBefore = small.stats().workers[0].tasksDone;
    const running = new AbortController();
    const busy = small.run('fixture', { action: 'sleep', ms: 400, value: 'started' }, { signal: running.signal });
    const queued = new AbortController();
    const dropped = small.run('fixture', { action: 'echo', value: 'dropped' }, { signal: queued.signal }).catch((e) => e);
    const kept = small.run('fixture', { action: 'echo', value: 'kept' }, { signal: new AbortController().signal });
    await new Promise((r) => setTimeout(r, 50));
    // `sleep` never calls ctx.throwIfAbandoned: told to stop, it runs on (the stopping tasks are tested below).
    running.abort(new Error('too late: it runs'));
    const reason = new ApiError(499, 'CLIENT_CLOSED_REQUEST', 'gone');
    queued.abort(reason);
    assert.equal(await dropped, reason);
    assert.equal(small.stats().queued, 1, 'the dropped task left the queue at once');
    assert.equal(await busy, 'started');
    assert.equal(await kept, 'kept');
    assert.equal(small.stats().workers[0].tasksDone - doneBefore, 2, 'the dropped task never ran');
    assert.equal(small.stats().abandoned, 1);
    const already = AbortSignal.abort(reason);
    assert.equal(await small.run('fixture', { action: 'echo', value: 'x' }, { signal: already }).catch((e) => e), reason);
    assert.equal(small.stats().abandoned, 1, 'refused before queueing: not counted');
  } finally {
    await small.close();
  }
});

test('heavy tasks take all workers but one; lighter tasks pass a heavy one that waits', async () => {
  const pool = new WorkerPool({ size: 2, taskTimeoutMs: 15_000, tasks: TASKS });
  try {
    await Promise.all([1, 2].map(() => pool.run('fixture', { action: 'echo', value: 'ready' })));
    const order: string[] = [];
    const run = (value: string, ms: number, heavy: boolean) =>
      pool.run<string>('fixture', { action: 'sleep', ms, value }, { heavy }).then((v) => { order.push(v); });
    // Long enough that the light task ends first even on a loaded machine.
    const first = run('heavy 1', 1500, true);
    const second = run('heavy 2', 50, true);
    await until(() => pool.stats().workers.filter((w) => w.busy).length === 1);
    assert.deepEqual([pool.stats().queued, pool.stats().workers.filter((w) => w.busy).length], [1, 1], 'the second heavy task waits with a worker free');
    const light = run('light', 50, false);
    await light;
    assert.deepEqual(order, ['light'], 'the light task ran on the free worker, ahead of the waiting heavy one');
    await Promise.all([first, second]);
    assert.deepEqual(order, ['light', 'heavy 1', 'heavy 2'], 'the second heavy task started once the first ended');
  } finally {
    await pool.close();
  }
  const single = new WorkerPool({ size: 1, tasks: TASKS });
  try {
    assert.equal(await single.run('fixture', { action: 'echo', value: 'alone' }, { heavy: true }), 'alone', 'a pool of one runs heavy tasks');
  } finally {
    await single.close();
  }
});

test('a heavy task gives its place back however it ends: failed, crashed, timed out, or on a worker restarted under it', async () => {
  const pool = new WorkerPool({ size: 2, taskTimeoutMs: 15_000, tasks: TASKS }); // room for one heavy task
  try {
    const heavy = (payload: object, timeoutMs?: number) => pool.run('fixture', payload, { heavy: true, timeoutMs }).catch((e: ApiError) => e.code);
    assert.equal(await heavy({ action: 'throw' }), 'BAD_THING');
    assert.equal(await heavy({ action: 'crash' }), 'WORKER_FAILED');
    assert.equal(await heavy({ action: 'hang' }, 300), 'WORKER_TIMEOUT');
    const onRetired = heavy({ action: 'sleep', ms: 200, value: 'finished on its old worker' });
    await until(() => pool.stats().workers.some((w) => w.busy));
    await pool.restart();
    assert.equal(await onRetired, 'finished on its old worker');
    // Had any of them kept its place, these would wait for ever.
    assert.deepEqual(await Promise.all([heavy({ action: 'echo', value: 1 }), heavy({ action: 'echo', value: 2 })]), [1, 2]);
  } finally {
    await pool.close();
  }
});

test('result bytes come in shared memory until more than the limit of them may be garbage; then moved while a full collection frees them', async () => {
  const MB = 2 ** 20;
  let inUse = 0; // what a cache would report holding
  const small = new WorkerPool({ size: 1, taskTimeoutMs: 15_000, tasks: TASKS, sharedResultBytes: 3 * MB, sharedInUse: () => inUse });
  try {
    const bytes = (size: number) => small.run<Uint8Array>('fixture', { action: 'bytes', size });
    const isShared = (b: Uint8Array) => b.buffer instanceof SharedArrayBuffer;
    const kept = [await bytes(MB), await bytes(MB), await bytes(MB)];
    assert.ok(kept.every((b) => isShared(b) && b.length === MB && b[MB - 1] === MB % 251));
    assert.equal(small.stats().sharedResultBytes, 3 * MB);
    assert.ok(small.stats().workers[0].sharedBytes! >= 3 * MB, 'the worker counts the copies it shared, until it collects them');
    // 3 MB held and none known in use: the next result is moved (counted by V8 as external memory).
    const moved = await bytes(MB);
    assert.ok(moved.buffer instanceof ArrayBuffer && moved[0] === MB % 251);
    // Held in a cache, they are no garbage: results are shared again.
    inUse = 2 * MB;
    kept.push(await bytes(MB));
    assert.ok(isShared(kept[3]));
    // Let go: the next result is moved, and the full collection it brings empties the ledger.
    inUse = 0;
    kept.length = 0;
    assert.ok(!isShared(await bytes(MB)));
    await until(() => small.stats().sharedResultBytes === 0, 5000);
    assert.equal(small.stats().sharedResultBytes, 0);
    assert.ok(isShared(await bytes(1000)));
  } finally {
    await small.close();
  }
});

test("a worker's ledger empties itself too: past 64 MB shared and let go, it collects and shares again", async () => {
  const MB = 2 ** 20;
  const pool = new WorkerPool({ size: 1, taskTimeoutMs: 15_000, tasks: TASKS, sharedResultBytes: 2 ** 30 });
  try {
    const shared = async () => (await pool.run<Uint8Array>('fixture', { action: 'bytes', size: 16 * MB })).buffer instanceof SharedArrayBuffer;
    const kinds: boolean[] = [];
    for (let i = 0; i < 5; i++) kinds.push(await shared());
    assert.deepEqual(kinds, [true, true, true, true, false], '64 MB shared, then one moved');
    // The worker collects in a turn of its own and its finalizers run in a later one: on a busy
    // machine that can take more than the next few tasks, so it is given up to 5 s of them.
    const until = Date.now() + 5000;
    while (!kinds.at(-1) && Date.now() < until) {
      kinds.push(await shared());
      if (!kinds.at(-1)) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(kinds.at(-1), true, `shared again once the worker collected: ${kinds}`);
    assert.ok(pool.stats().workers[0].sharedBytes! <= 64 * MB, 'never past its limit');
  } finally {
    await pool.close();
  }
});

test('a started task whose asker has gone stops at its next check, rejects with the reason, and its worker takes the next task at once', async () => {
  const small = new WorkerPool({ size: 1, taskTimeoutMs: 60_000, tasks: TASKS });
  try {
    await small.run('fixture', { action: 'echo', value: 'ready' });
    const before = small.stats();
    const client = new AbortController();
    const started = Date.now();
    const spinning = small.run('fixture', { action: 'spin', ms: 30_000, value: 'never' }, { signal: client.signal }).catch((e) => e);
    const next = small.run('fixture', { action: 'echo', value: 'next' });
    await until(() => small.stats().workers[0].busy);
    await new Promise((r) => setTimeout(r, 100));
    const reason = new ApiError(499, 'CLIENT_CLOSED_REQUEST', 'gone');
    client.abort(reason);
    assert.equal(await spinning, reason, 'rejected with the signal\'s reason, as a dropped queued task is');
    assert.equal(await next, 'next');
    // Generous for a loaded 2-vCPU machine: the task would have spun for 30 s.
    assert.ok(Date.now() - started < 10_000, `stopped after ${Date.now() - started} ms`);
    const stats = small.stats();
    assert.deepEqual([stats.stopped, stats.abandoned], [1, 0], 'counted as stopped, not as dropped from the queue');
    assert.equal(stats.workers[0].tasksFailed, before.workers[0].tasksFailed, 'a stop is no failure');
    assert.equal(stats.workers[0].threadId, before.workers[0].threadId, 'the same worker: stopped, not replaced');
  } finally {
    await small.close();
  }
});

test('a started task whose asker stays runs to its end; a stop does not carry over to the next task on that worker', async () => {
  const small = new WorkerPool({ size: 1, taskTimeoutMs: 60_000, tasks: TASKS });
  try {
    await small.run('fixture', { action: 'echo', value: 'ready' });
    const client = new AbortController();
    const stopped = small.run('fixture', { action: 'spin', ms: 30_000 }, { signal: client.signal }).catch((e) => e);
    await until(() => small.stats().workers[0].busy);
    const reason = new Error('gone');
    client.abort(reason);
    assert.equal(await stopped, reason);
    assert.equal(await small.run('fixture', { action: 'spin', ms: 300, value: 'whole' }, { signal: new AbortController().signal }), 'whole');
    // Aborted once it has ended: nothing to stop, nothing counted.
    const late = new AbortController();
    assert.equal(await small.run('fixture', { action: 'spin', ms: 50, value: 'done' }, { signal: late.signal }), 'done');
    late.abort();
    assert.equal(await small.run('fixture', { action: 'spin', ms: 50, value: 'after' }), 'after');
    assert.deepEqual([small.stats().stopped, small.stats().abandoned], [1, 0]);
  } finally {
    await small.close();
  }
});
