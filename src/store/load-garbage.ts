// A large layer's load leaves its parsing garbage (some 250 MB for the 10 m countries) in V8's old
// generation, which V8 collects only once that generation grows further; serving tiles makes only
// short-lived objects, so it may never be. Meanwhile each young-generation collection costs twice
// as much (the countries' cached tiles under wrk: 2.0 instead of 0.85 ms each, 8% of the main
// thread's time instead of 3%). So when the last load under way ends, having left at least
// LEFT_BEHIND bytes more heap than the last full collection did, one full collection is made
// (25 ms for the countries).
import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';
import { fullCollection } from '../common/gc.js';

const LEFT_BEHIND = 64 * 2 ** 20;

let loading = 0;
let usedAfterCollection = getHeapStatistics().used_heap_size;

/** `load`, counted as a load under way until it settles; the last one to end may collect (see above). */
export async function asLoad<T>(load: () => Promise<T>, log: Logger, leftBehind = LEFT_BEHIND): Promise<T> {
  loading++;
  try {
    return await load();
  } finally {
    if (--loading === 0) collectIfGrown(log, leftBehind);
  }
}

function collectIfGrown(log: Logger, leftBehind: number): void {
  const before = getHeapStatistics().used_heap_size;
  if (before - usedAfterCollection < leftBehind) return;
  const started = performance.now();
  fullCollection();
  usedAfterCollection = getHeapStatistics().used_heap_size;
  log.info({ ms: Math.round(performance.now() - started), freedMB: Math.round((before - usedAfterCollection) / 2 ** 20) }, 'collected what layer loads left');
}
