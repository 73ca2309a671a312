// Password guessing: the slowdown cannot be cleared by logging in to another account between
// guesses, and an unknown keyname is answered after the same work as a wrong password.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Authenticator } from '../src/auth/authenticator.js';
import type { SystemPrincipals } from '../src/auth/bootstrap.js';
import { hashPassword } from '../src/auth/passwords.js';
import { openDatabase } from '../src/auth/database.js';
import { SqliteAuthStore } from '../src/auth/sqlite-store.js';
import type { AuthStore, User } from '../src/auth/store.js';
import { LoginThrottle } from '../src/auth/throttle.js';

const silent = pino({ level: 'silent' });

describe('login throttle', () => {
  /** A throttle over an auth database of its own (the table every instance shares), at the given clock. */
  const throttleAt = (now: () => number) => new LoginThrottle(new SqliteAuthStore(openDatabase(':memory:', silent)), now);
  const failTimes = async (throttle: LoginThrottle, n: number, keyname: string) => {
    for (let i = 0; i < n; i++) await throttle.failed('10.0.0.9', keyname);
  };

  it('a success takes back only the failures of its own keyname', async () => {
    const throttle = throttleAt(() => 1_000_000);
    await failTimes(throttle, 5, 'reader');
    assert.ok(await throttle.waitFor('10.0.0.9') > 0);
    await throttle.succeeded('10.0.0.9', 'mallory');
    assert.ok(await throttle.waitFor('10.0.0.9') > 0, "logging in to one's own account does not clear guesses at another");
    await throttle.failed('10.0.0.9', 'Reader');
    assert.ok(await throttle.waitFor('10.0.0.9') > 0);
    assert.equal(await throttle.waitFor('10.0.0.10'), 0, 'other addresses are not slowed');
  });

  it('a user who mistyped and then got in starts afresh', async () => {
    const throttle = throttleAt(() => 1_000_000);
    await failTimes(throttle, 4, 'uma');
    await throttle.succeeded('10.0.0.9', 'Uma');
    await failTimes(throttle, 5, 'uma');
    assert.ok(await throttle.waitFor('10.0.0.9') > 0, 'five fresh failures slow the address again');
    await throttle.succeeded('10.0.0.9', 'uma');
    assert.equal(await throttle.waitFor('10.0.0.9'), 0);
  });

  it('waits twice as long after each further failure, up to five minutes', async () => {
    const now = 1_000_000;
    const throttle = throttleAt(() => now);
    await failTimes(throttle, 5, 'reader');
    assert.equal(await throttle.waitFor('10.0.0.9'), 1000);
    await failTimes(throttle, 2, 'reader');
    assert.equal(await throttle.waitFor('10.0.0.9'), 4000);
    await failTimes(throttle, 20, `${'x'.repeat(70_000)}`); // a 70 KB keyname is kept short
    assert.equal(await throttle.waitFor('10.0.0.9'), 5 * 60_000);
  });

  it('forgets failures after a quarter of an hour', async () => {
    let now = 1_000_000;
    const throttle = throttleAt(() => now);
    await failTimes(throttle, 6, 'reader');
    assert.ok(await throttle.waitFor('10.0.0.9') > 0);
    now += 16 * 60_000;
    await throttle.failed('10.0.0.9', 'reader');
    assert.equal(await throttle.waitFor('10.0.0.9'), 0, 'one fresh failure after the old ones were forgotten');
  });
});

describe('login timing', () => {
  it('an unknown keyname costs a password derivation, as a wrong password does', async () => {
    const cost = 14; // some tens of ms per derivation: far above the rest of a login
    const user: User = {
      id: 5, cls: 'U', keyname: 'uma', display_name: 'Uma', description: null, system: false, disabled: false,
      password_hash: await hashPassword('uma-password', cost), member_of: [],
    } as User;
    const store = {
      userByKeyname: async (k: string) => (k === 'uma' ? user : undefined),
      loginFailures: async () => ({ count: 0, last: 0 }), addLoginFailure: async () => {},
    } as unknown as AuthStore;
    const auth = new Authenticator(store, {} as SystemPrincipals, 60_000, silent, cost);
    const timed = async (keyname: string, address: string) => {
      const t = performance.now();
      await assert.rejects(auth.checkPassword(keyname, 'not-the-password', address), { status: 401 });
      return performance.now() - t;
    };
    await timed('nobody', '10.0.0.1'); // the decoy hash is made once, on first use
    // Interleaved, each from its own address (never throttled); medians, the machine may be busy.
    const wrong: number[] = [], unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      wrong.push(await timed('uma', `10.0.1.${i}`));
      unknown.push(await timed(`nobody-${i}`, `10.0.2.${i}`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2];
    assert.ok(median(unknown) > median(wrong) / 2, `unknown keyname ${median(unknown).toFixed(1)} ms, wrong password ${median(wrong).toFixed(1)} ms`);
  });
});
