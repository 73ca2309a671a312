// The built-in principals, created at first start: the administrator and the administrators group,
// guest (anonymous requests) and the pseudo-users rules can name: everyone, authenticated, owner.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { hashPassword, verifyPassword } from './passwords.js';
import type { AuthStore } from './store.js';

export interface SystemPrincipals {
  administrator: number;
  administrators: number;
  guest: number;
  everyone: number;
  authenticated: number;
  owner: number;
}

const PSEUDO_USERS = {
  guest: 'Guest',
  everyone: 'Everyone',
  authenticated: 'Authenticated',
  owner: 'Owner',
} as const;

export interface BootstrapOptions {
  /** MERIDIAN_ADMIN_PASSWORD: set at every start when given. */
  adminPassword?: string;
  passwordCost: number;
  /** A group registered users join; created if missing. */
  registrationGroup?: string;
}

async function ensureUser(store: AuthStore, keyname: string, display_name: string): Promise<number> {
  const found = await store.userByKeyname(keyname);
  if (found) return found.id;
  return store.createUser({ keyname, display_name, description: null, disabled: false, password_hash: null, member_of: [] }, true);
}

export async function bootstrap(store: AuthStore, opts: BootstrapOptions, log: Logger): Promise<SystemPrincipals> {
  const administrator = await ensureUser(store, 'administrator', 'Administrator');
  const group = await store.groupByKeyname('administrators');
  const administrators = group?.id ?? await store.createGroup(
    { keyname: 'administrators', display_name: 'Administrators', description: null, disabled: false, members: [administrator] }, true);
  // The built-in administrator always keeps its way back in.
  await store.addMember(administrators, administrator);
  const ids: Partial<SystemPrincipals> = { administrator, administrators };
  for (const [keyname, name] of Object.entries(PSEUDO_USERS)) ids[keyname as keyof typeof PSEUDO_USERS] = await ensureUser(store, keyname, name);

  const admin = (await store.user(administrator))!;
  if (opts.adminPassword !== undefined) {
    if (!admin.password_hash || !(await verifyPassword(opts.adminPassword, admin.password_hash))) {
      await store.updateUser(administrator, { ...admin, password_hash: await hashPassword(opts.adminPassword, opts.passwordCost) });
      log.info('administrator password set from MERIDIAN_ADMIN_PASSWORD');
    }
  } else if (!admin.password_hash) {
    const password = randomBytes(12).toString('base64url');
    await store.updateUser(administrator, { ...admin, password_hash: await hashPassword(password, opts.passwordCost) });
    // Printed this once only: later starts find the hash and keep it.
    log.warn({ keyname: 'administrator', password }, 'generated the administrator password; note it now, it is not shown again');
  }

  if (opts.registrationGroup && !(await store.groupByKeyname(opts.registrationGroup))) {
    await store.createGroup({ keyname: opts.registrationGroup, display_name: opts.registrationGroup, description: 'Users who registered themselves', disabled: false, members: [] });
    log.info({ group: opts.registrationGroup }, 'created the registration group');
  }
  return ids as SystemPrincipals;
}
