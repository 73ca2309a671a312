// The event loop's longest stall while a test's work runs (the server runs in the test's process).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Runs `work`; answers its result and the longest the event loop waited meanwhile, in ms. */
export async function watchLoop<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  try {
    await sleep(50); // its first tick only starts the count: a stall before the second would go unseen
    const result = await work();
    await sleep(50); // a tick more, to count a stall that has just ended
    return { result, stallMs: loop.max / 1e6 };
  } finally {
    loop.disable();
  }
}
