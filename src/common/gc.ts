// This thread's full garbage collection: V8's `gc`, which Node gives only to a process started
// with --expose-gc, or once the flag is set (as here, on first use).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

export function fullCollection(): void {
  if (!collect) {
    if (typeof globalThis.gc !== 'function') setFlagsFromString('--expose-gc');
    collect = typeof globalThis.gc === 'function' ? globalThis.gc : runInNewContext('gc') as () => void;
  }
  collect();
}
