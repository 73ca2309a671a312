// Result bytes handed from a worker to the main thread in shared memory. A moved ArrayBuffer counts
// as external memory of the thread that receives it, and V8 answers every 64 MB of that with a
// major collection of the thread's heap: on the main thread, 5–15 ms of pauses after a few large
// tiles, taken by the small requests that come next. A SharedArrayBuffer is not counted, so nothing
// asks for a collection, and none frees it either: its memory goes when every thread holding it
// has collected its wrapper in a full collection (minor ones do not run finalizers, and moved
// buffers that die young never bring a full one). So each thread keeps a ledger of the shared bytes
// it has not collected; when more than its limit of them may be garbage, results are moved for the
// moment and the thread runs a full collection of its own, once per limit's worth of garbage.
import { fullCollection } from '../common/gc.js';

export class SharedResults {
  private held = 0;
  private collecting = false;
  private readonly released = new FinalizationRegistry<number>((bytes) => { this.held -= bytes; });

  /** `inUse`: how many of the bytes held are known to be in use still (kept in a cache), so not garbage. */
  constructor(readonly limit: number, private readonly inUse: () => number = () => 0) {}

  /**
   * Whether the next result may come in shared memory: less than `limit` of those held may be
   * garbage. When not, a full collection follows in a turn of its own (once at a time).
   */
  mayShare(): boolean {
    if (this.held - this.inUse() < this.limit) return true;
    if (!this.collecting) {
      this.collecting = true;
      setImmediate(() => { this.collecting = false; fullCollection(); });
    }
    return false;
  }

  /** Shared result bytes this thread has not yet collected (some may still be in use). */
  get heldBytes(): number {
    return this.held;
  }

  /** A copy of `bytes` in shared memory, counted until this thread collects it. */
  copy(bytes: Uint8Array): Uint8Array {
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
    shared.set(bytes);
    this.adopt(shared);
    return shared;
  }

  /** Counts bytes another thread shared with this one until this thread collects them. */
  adopt(bytes: Uint8Array): void {
    this.held += bytes.buffer.byteLength;
    this.released.register(bytes.buffer, bytes.buffer.byteLength);
  }
}
