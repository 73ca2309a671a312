// Long work on the main thread, cut into slices with a turn of the event loop between them, so
// other requests (tiles, most of all) wait at most a slice.
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Longest stretch of work before other requests get a turn of the event loop. */
const SLICE_MS = 15;

/**
 * A pause to call between pieces of work: it gives the event loop a turn once a slice's time is
 * spent since the last one, and is nothing (no promise to await) before then.
 */
export function timeSlices(): () => Promise<void> | undefined {
  let sliceStart = performance.now();
  return () => {
    if (performance.now() - sliceStart <= SLICE_MS) return undefined;
    return nextTurn().then(() => { sliceStart = performance.now(); });
  };
}
