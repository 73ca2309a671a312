// Password hashing with scrypt (node:crypto). The stored string carries its parameters and salt,
// "scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>", so the cost can be raised later without
// invalidating existing hashes.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/**
 * At most this many derivations run at once (each takes 128 * N * r bytes: 64 MiB at the default
 * cost), so a burst of logins or Basic guesses queues instead of exhausting memory.
 */
const MAX_CONCURRENT = 2;
let running = 0;
const waiting: (() => void)[] = [];

async function derive(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await scryptKey(password, salt, opts);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function scryptKey(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; node's default cap (32 MiB) is too low for N = 2^16.
  const maxmem = 256 * opts.N! * opts.r!;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...opts, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a password with a fresh salt; `log2N` is the scrypt cost (memory 128 * 2^log2N * 8 bytes). */
export async function hashPassword(password: string, log2N: number): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, { N: 2 ** log2N, r: 8, p: 1 });
  return ['scrypt', log2N, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
}

/** True when `password` matches `stored`; compares in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, log2N, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), { N: 2 ** Number(log2N), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
