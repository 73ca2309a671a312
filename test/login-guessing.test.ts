// Password guessing: the slowdown cannot be cleared by logging in to another account between
// guesses, and an unknown keyname is answered after the same work as a wrong password.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Authenticator } from '../src/auth/authenticator.js';
import type { SystemPrincipals } from '../src/auth/bootstrap.js';
import { hashPassword } from '../src/auth/passwords.js';
import type { AuthStore, User } from '../src/auth/store.js';
import { LoginThrottle } from '../src/auth/throttle.js';

describe('login throttle', () => {
  it('a success takes back only the failures of its own keyname', () => {
    const throttle = new LoginThrottle(() => 1_000_000);
    for (let i = 0; i < 5; i++) throttle.failed('10.0.0.9', 'reader');
    assert.ok(throttle.waitFor('10.0.0.9') > 0);
    throttle.succeeded('10.0.0.9', 'mallory');
    assert.ok(throttle.waitFor('10.0.0.9') > 0, "logging in to one's own account does not clear guesses at another");
    throttle.failed('10.0.0.9', 'Reader');
    assert.ok(throttle.waitFor('10.0.0.9') > 0);
    assert.equal(throttle.waitFor('10.0.0.10'), 0, 'other addresses are not slowed');
  });

  it('a user who mistyped and then got in starts afresh', () => {
    const throttle = new LoginThrottle(() => 1_000_000);
    for (let i = 0; i < 4; i++) throttle.failed('10.0.0.9', 'uma');
    throttle.succeeded('10.0.0.9', 'Uma');
    for (let i = 0; i < 5; i++) throttle.failed('10.0.0.9', 'uma');
    assert.ok(throttle.waitFor('10.0.0.9') > 0, 'five fresh failures slow the address again');
    throttle.succeeded('10.0.0.9', 'uma');
    assert.equal(throttle.waitFor('10.0.0.9'), 0);
  });

  it('forgets failures after a quarter of an hour', () => {
    let now = 1_000_000;
    const throttle = new LoginThrottle(() => now);
    for (let i = 0; i < 6; i++) throttle.failed('10.0.0.9', 'reader');
    assert.ok(throttle.waitFor('10.0.0.9') > 0);
    now += 16 * 60_000;
    throttle.failed('10.0.0.9', 'reader');
    assert.equal(throttle.waitFor('10.0.0.9'), 0, 'one fresh failure after the old ones were forgotten');
  });
});

describe('login timing', () => {
  it('an unknown keyname costs a password derivation, as a wrong password does', async () => {
    const cost = 14; // some tens of ms per derivation: far above the rest of a login
    const user: User = {
      id: 5, cls: 'U', keyname: 'uma', display_name: 'Uma', description: null, system: false, disabled: false,
      password_hash: await hashPassword('uma-password', cost), member_of: [],
    } as User;
    const store = { userByKeyname: async (k: string) => (k === 'uma' ? user : undefined) } as unknown as AuthStore;
    const auth = new Authenticator(store, {} as SystemPrincipals, 60_000, pino({ level: 'silent' }), cost);
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
