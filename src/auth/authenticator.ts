// Turning credentials into a Caller: password logins (throttled per client address, see throttle.ts), sessions and
// HTTP Basic. Checked Basic credentials are remembered for a minute (keyed by a hash of the header)
// so clients sending them on every request do not pay for scrypt each time; any change to users
// clears that memory. Wrong ones are remembered too: the same header again is the same guess, not
// a new one, so a map client with a wrong saved password is answered 401 on every tile without its
// address being charged a failure per request (and locked out).
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ApiError } from '../http/errors.js';
import type { SystemPrincipals } from './bootstrap.js';
import type { Caller } from './caller.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { AuthStore, User } from './store.js';
import { LoginThrottle } from './throttle.js';

const BASIC_MEMORY_MS = 60_000;
const BASIC_MEMORY_MAX = 1000;

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export const unauthorized = (message: string, code = 'UNAUTHORIZED') =>
  new ApiError(401, code, message, undefined, { 'WWW-Authenticate': 'Basic realm="Meridian", charset="UTF-8"' });

const wrongCredentials = () => unauthorized('Invalid login or password.', 'INVALID_CREDENTIALS');

export class Authenticator {
  private readonly throttle: LoginThrottle;
  /** By header hash: the user the credentials are, or null when they are wrong. */
  private readonly basicMemory = new Map<string, { userId: number | null; until: number }>();
  /** Basic credentials being checked, by the same key: requests sending them meanwhile wait for that check. */
  private readonly basicChecks = new Map<string, Promise<User>>();
  /**
   * Bumped when users change: a check begun before (it read the old password hash) neither is
   * remembered nor answers requests sent after the change.
   */
  private usersVersion = 0;
  /** Anonymous requests are most requests; guest changes only through userChanged. */
  private guestCaller: Promise<Caller> | undefined;
  private guestKnown: Caller | undefined;
  /** A hash of a password nobody knows, checked when a keyname has none: see checkPassword. */
  private decoy: Promise<string> | undefined;

  constructor(
    private readonly store: AuthStore, readonly system: SystemPrincipals, readonly sessionTtlMs: number, private readonly log: Logger,
    private readonly passwordCost: number,
  ) {
    this.throttle = new LoginThrottle(store);
  }

  async callerOf(user: User, via: Caller['via']): Promise<Caller> {
    const groups = await this.store.groupsOf(user.id);
    return {
      id: user.id, keyname: user.keyname, display_name: user.display_name, guest: false, groups,
      administrator: groups.includes(this.system.administrators), via,
    };
  }

  guest(): Promise<Caller> {
    if (!this.guestCaller) {
      const asked = this.store.user(this.system.guest)
        .then(async (user): Promise<Caller> => ({ ...(await this.callerOf(user!, 'guest')), guest: true, administrator: false }));
      this.guestCaller = asked;
      // Kept at hand for code that cannot wait (cached tiles answered before Koa), unless forgotten meanwhile.
      asked.then((caller) => { if (this.guestCaller === asked) this.guestKnown = caller; }, () => {});
    }
    return this.guestCaller;
  }

  /** The guest caller if already known (a guest request has been answered since users last changed). */
  knownGuest(): Caller | undefined {
    return this.guestKnown;
  }

  /** The user whose keyname and password these are; 401 if none, 403 if disabled, 429 while throttled. */
  async checkPassword(keyname: string, password: string, address: string): Promise<User> {
    const wait = await this.throttle.admit(address);
    if (wait > 0) {
      this.log.warn({ address, keyname }, 'login refused: too many failures from this address');
      throw new ApiError(429, 'TOO_MANY_ATTEMPTS', 'Too many failed logins from this address; try again later.', 'Too many requests',
        { 'Retry-After': String(Math.ceil(wait / 1000)) });
    }
    let user: User | undefined;
    try {
      user = await this.store.userByKeyname(keyname);
      // An unknown keyname, or a user without a password (guest and the pseudo-users, who can never
      // log in), costs the same derivation as a wrong password: the answer's time does not tell
      // which keynames exist.
      this.decoy ??= hashPassword(randomBytes(16).toString('base64'), this.passwordCost);
      const ok = await verifyPassword(password, user?.password_hash ?? await this.decoy) && !!user?.password_hash;
      if (!user || !ok) {
        await this.throttle.failed(address, keyname);
        this.log.warn({ address, keyname }, 'login failed');
        throw wrongCredentials();
      }
      await this.throttle.succeeded(address, keyname);
    } finally {
      this.throttle.settle(address);
    }
    this.log.info({ address, keyname: user.keyname }, 'login');
    if (user.disabled) throw new ApiError(403, 'USER_DISABLED', `User "${user.keyname}" is disabled.`);
    return user;
  }

  /** Credentials from an "Authorization: Basic ..." header. */
  async basic(header: string, address: string): Promise<Caller> {
    const key = sha256(header);
    const version = this.usersVersion;
    const known = this.basicMemory.get(key);
    if (known && known.until > Date.now()) {
      if (known.userId === null) throw wrongCredentials();
      const user = await this.store.user(known.userId);
      if (user && !user.disabled) return this.callerOf(user, 'basic');
    }
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw unauthorized('Malformed Basic credentials.', 'INVALID_CREDENTIALS');
    // A client's first burst (a map's tiles) sends the same header at once: one check, one throttled attempt.
    let checking = this.basicChecks.get(key);
    if (!checking) {
      const check = this.checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1), address)
        .finally(() => { if (this.basicChecks.get(key) === check) this.basicChecks.delete(key); });
      this.basicChecks.set(key, (checking = check));
    }
    let user: User;
    try {
      user = await checking;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'INVALID_CREDENTIALS') this.remember(key, null, version);
      throw e;
    }
    this.remember(key, user.id, version);
    return this.callerOf(user, 'basic');
  }

  /** Remembers what a check begun at `version` found, unless users have changed since. */
  private remember(key: string, userId: number | null, version: number): void {
    if (version !== this.usersVersion) return;
    if (this.basicMemory.size >= BASIC_MEMORY_MAX) this.basicMemory.clear();
    this.basicMemory.set(key, { userId, until: Date.now() + BASIC_MEMORY_MS });
  }

  /** Starts a session; returns the token for the cookie (only its hash is stored). */
  async startSession(user: User): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.store.createSession(sha256(token), user.id, Date.now() + this.sessionTtlMs);
    // The password was checked against the user as read before: a change since (password, disabled,
    // deleted) ended the user's sessions, maybe before this one was stored.
    const now = await this.store.user(user.id);
    if (!now || now.disabled || now.password_hash !== user.password_hash) {
      await this.store.deleteSession(sha256(token));
      throw wrongCredentials();
    }
    return token;
  }

  /** The caller a session cookie names, or undefined if it is unknown, expired or its user disabled. */
  async session(token: string): Promise<Caller | undefined> {
    const s = await this.store.session(sha256(token), Date.now());
    const user = s && await this.store.user(s.user_id);
    return user && !user.disabled ? this.callerOf(user, 'session') : undefined;
  }

  async endSession(token: string): Promise<void> {
    await this.store.deleteSession(sha256(token));
  }

  /** Users changed: forget remembered Basic credentials and the user's sessions if disabled or re-keyed. */
  async userChanged(userId: number, endSessions: boolean): Promise<void> {
    this.forget();
    if (endSessions) await this.store.deleteSessionsOf(userId);
  }

  /**
   * A user was created: credentials remembered as wrong, or being checked, may be its own now (a map
   * client that asked before its account existed). Those remembered right stay: no scrypt is paid again.
   */
  userAdded(): void {
    this.usersVersion++;
    this.basicChecks.clear();
    for (const [key, known] of this.basicMemory) if (known.userId === null) this.basicMemory.delete(key);
  }

  /** Forgets remembered Basic credentials and the guest caller (users changed, here or on another instance). */
  forget(): void {
    this.usersVersion++;
    this.basicMemory.clear();
    this.basicChecks.clear();
    this.guestCaller = this.guestKnown = undefined;
  }
}
