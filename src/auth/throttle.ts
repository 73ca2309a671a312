// Slows down password guessing from one client address: after FREE_FAILURES failed attempts, each
// further attempt must wait twice as long as the previous one (1 s, 2 s, 4 s ... up to 5 min) after
// the last failure, or it is refused with 429 and Retry-After. A success takes back only the
// failures of its own keyname: a caller with an account of their own cannot clear the count of
// their guesses at another's by logging in between them.
const FREE_FAILURES = 5;
const MAX_WAIT_MS = 5 * 60_000;
/** Failures older than this are forgotten. */
const FORGET_MS = 15 * 60_000;
/** Bounds memory when many addresses fail. */
const MAX_ADDRESSES = 10_000;
/** Keynames whose failures are told apart per address; failures at further ones stay counted until forgotten. */
const MAX_KEYNAMES = 32;

interface Failures {
  count: number;
  last: number;
  /** Failures per keyname (lower-cased), which a success at that keyname takes back. */
  byKeyname: Map<string, number>;
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

  failed(address: string, keyname: string): void {
    const now = this.now();
    const old = this.failures.get(address);
    const f = old && now - old.last < FORGET_MS ? old : { count: 0, last: now, byKeyname: new Map<string, number>() };
    f.count++;
    f.last = now;
    const key = keyname.toLowerCase();
    if (f.byKeyname.has(key) || f.byKeyname.size < MAX_KEYNAMES) f.byKeyname.set(key, (f.byKeyname.get(key) ?? 0) + 1);
    this.failures.delete(address); // re-insert so the map's order is least recently failed first
    this.failures.set(address, f);
    if (this.failures.size > MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
  }

  succeeded(address: string, keyname: string): void {
    const f = this.failures.get(address);
    const key = keyname.toLowerCase();
    const own = f?.byKeyname.get(key);
    if (!f || !own) return;
    f.count -= own;
    f.byKeyname.delete(key);
    if (f.count === 0) this.failures.delete(address);
  }
}
