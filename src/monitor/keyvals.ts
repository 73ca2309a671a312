// Key-value zones (nginx's keyval): string keys to string values, changed through the monitoring
// API. The `denylist` zone does something real: client addresses listed in it are refused.
import { isIP } from 'node:net';
import type { Context, Next } from 'koa';
import { ApiError } from '../http/errors.js';

const formatError = (message: string) => new ApiError(400, 'KeyvalFormatError', message);

export class KeyvalZone {
  readonly entries = new Map<string, string>();

  /** Rewrites a key to its canonical form, or throws KeyvalFormatError. */
  constructor(readonly name: string, private readonly canonicalKey: (key: string) => string = (k) => k) {}

  /** The body of POST/PATCH: a JSON object of keys to string values (or null, PATCH only). */
  private parse(body: unknown, allowNull: boolean): [string, string | null][] {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw formatError('The body must be a JSON object of keys to values.');
    const pairs = Object.entries(body as Record<string, unknown>);
    if (!pairs.length) throw formatError('The body names no key.');
    return pairs.map(([key, value]) => {
      if (key === '') throw formatError('A key must not be empty.');
      if (typeof value !== 'string' && !(allowNull && value === null)) {
        throw formatError(`The value of "${key}" must be a string${allowNull ? ' or null' : ''}.`);
      }
      return [this.canonicalKey(key), value as string | null];
    });
  }

  get(key: string): Record<string, string> {
    const k = this.canonicalKey(key);
    const value = this.entries.get(k);
    if (value === undefined) throw new ApiError(404, 'KeyvalKeyNotFound', `Key "${key}" is not in keyval zone "${this.name}".`);
    return { [k]: value };
  }

  add(body: unknown): void {
    const pairs = this.parse(body, false);
    for (const [k] of pairs) {
      if (this.entries.has(k)) throw new ApiError(409, 'KeyvalKeyExists', `Key "${k}" is already in keyval zone "${this.name}".`);
    }
    for (const [k, v] of pairs) this.entries.set(k, v!);
  }

  change(body: unknown): void {
    const pairs = this.parse(body, true);
    for (const [k] of pairs) {
      if (!this.entries.has(k)) throw new ApiError(404, 'KeyvalKeyNotFound', `Key "${k}" is not in keyval zone "${this.name}".`);
    }
    for (const [k, v] of pairs) {
      if (v === null) this.entries.delete(k);
      else this.entries.set(k, v);
    }
  }

  toJSON(): Record<string, string> {
    return Object.fromEntries(this.entries);
  }
}

/**
 * One spelling per address, as a client's socket gives it: IPv4 dotted; IPv6 compressed and
 * lower-case (WHATWG URL's serialization), without a zone; an IPv4-mapped IPv6 address as its IPv4.
 */
function canonicalAddress(address: string): string {
  const kind = isIP(address);
  if (!kind) throw formatError(`"${address}" is not an IP address.`);
  if (kind === 4) return address;
  const v6 = new URL(`http://[${address.replace(/%.*$/, '')}]`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!mapped) return v6;
  const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

export function createKeyvals(): Map<string, KeyvalZone> {
  return new Map([['denylist', new KeyvalZone('denylist', canonicalAddress)]]);
}

/**
 * Refuses a client whose address is in the denylist zone, before any endpoint runs — except the
 * denylist's own endpoint (administrators only), so an address listed by mistake can be taken out.
 */
export function refuseDenied(denylist: KeyvalZone, ownPath: string) {
  // Not async: with nobody listed this is one size check on the way to the endpoint.
  return (ctx: Context, next: Next) => {
    if (denylist.entries.size && ctx.path.replace(/\/$/, '') !== ownPath) {
      const address = ctx.req.socket.remoteAddress;
      if (address && denylist.entries.has(canonicalAddress(address))) {
        throw new ApiError(403, 'ADDRESS_DENIED', 'Your address is in the denylist.', 'Forbidden');
      }
    }
    return next();
  };
}
