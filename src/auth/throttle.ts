// Slows down password guessing from one client address: after FREE_FAILURES failed attempts, each
// further attempt must wait twice as long as the previous one (1 s, 2 s, 4 s ... up to 5 min) after
// the last failure, or it is refused with 429 and Retry-After. A success resets the address.
const FREE_FAILURES = 5;
const MAX_WAIT_MS = 5 * 60_000;
/** Failures older than this are forgotten. */
const FORGET_MS = 15 * 60_000;
/** Bounds memory when many addresses fail. */
const MAX_ADDRESSES = 10_000;

interface Failures {
  count: number;
  last: number;
}

export class LoginThrottle {
  private readonly failures = new Map<string, Failures>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds the address must still wait before its next attempt (0: may try now). */
  waitFor(address: string): number {
    const f = this.failures.get(address);
    if (!f || f.count < FREE_FAILURES) return 0;
    const wait = Math.min(1000 * 2 ** (f.count - FREE_FAILURES), MAX_WAIT_MS);
    return Math.max(0, f.last + wait - this.now());
  }

  failed(address: string): void {
    const now = this.now();
    const f = this.failures.get(address);
    const fresh = f && now - f.last < FORGET_MS;
    this.failures.delete(address); // re-insert so the map's order is least recently failed first
    this.failures.set(address, { count: fresh ? f.count + 1 : 1, last: now });
    if (this.failures.size > MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }
}
