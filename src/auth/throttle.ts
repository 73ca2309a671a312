// Slows down password guessing from one client address: after FREE_FAILURES failed attempts, each
// further attempt must wait twice as long as the previous one (1 s, 2 s, 4 s ... up to 5 min) after
// the last failure, or it is refused with 429 and Retry-After. A success takes back only the
// failures of its own keyname: a caller with an account of their own cannot clear the count of
// their guesses at another's by logging in between them. Failures are kept in the auth database,
// so the instances sharing one (scale-out, --cluster) count them together: N instances do not
// allow N times the guesses. Attempts under way count as failures made now: a failure is only
// stored once its password derivation ends, so without them a burst of simultaneous guesses all
// found the count under the limit and were all tried. The rows stay few: an address past its free
// failures gets one try per wait, each try costs a password derivation, and rows older than
// FORGET_MS go when one is added.
import type { AuthStore } from './store.js';

const FREE_FAILURES = 5;
const MAX_WAIT_MS = 5 * 60_000;
/** Failures older than this are forgotten. */
const FORGET_MS = 15 * 60_000;
/** A keyname tried is kept to this length (real ones have at most 64 characters; a guess may be 64 KiB). */
const KEYNAME_KEPT = 128;

export class LoginThrottle {
  /** Attempts admitted and not yet settled, by address (this instance's). */
  private readonly underWay = new Map<string, number>();

  constructor(
    private readonly store: Pick<AuthStore, 'loginFailures' | 'addLoginFailure' | 'clearLoginFailures'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds the address must still wait before its next attempt (0: may try now). */
  waitFor(address: string): Promise<number> {
    return this.check(address, false);
  }

  /**
   * As waitFor; at 0 the attempt is admitted and counts as a failure until `settle` (call it once
   * the attempt's failure or success has been recorded).
   */
  admit(address: string): Promise<number> {
    return this.check(address, true);
  }

  settle(address: string): void {
    const left = (this.underWay.get(address) ?? 1) - 1;
    if (left > 0) this.underWay.set(address, left);
    else this.underWay.delete(address);
  }

  private async check(address: string, admit: boolean): Promise<number> {
    const now = this.now();
    const { count, last } = await this.store.loginFailures(address, now - FORGET_MS);
    // From here to the admission nothing awaits: the next attempt sees this one under way.
    const underWay = this.underWay.get(address) ?? 0;
    const failures = count + underWay;
    const wait = failures < FREE_FAILURES ? 0
      : Math.max(0, (underWay ? now : last) + Math.min(1000 * 2 ** (failures - FREE_FAILURES), MAX_WAIT_MS) - now);
    if (admit && wait === 0) this.underWay.set(address, underWay + 1);
    return wait;
  }

  failed(address: string, keyname: string): Promise<void> {
    const now = this.now();
    return this.store.addLoginFailure(address, kept(keyname), now, now - FORGET_MS);
  }

  succeeded(address: string, keyname: string): Promise<void> {
    return this.store.clearLoginFailures(address, kept(keyname));
  }
}

function kept(keyname: string): string {
  return keyname.toLowerCase().slice(0, KEYNAME_KEPT);
}
