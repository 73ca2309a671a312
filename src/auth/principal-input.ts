// Validating user and group bodies from the auth API into store fields. Read-only fields NGW
// returns (id, system, ...) are accepted and ignored so a client may PUT back what it GOT.
import { ApiError } from '../http/errors.js';
import { badField } from '../http/body.js';
import { MAX_ID } from '../http/params.js';
import type { SystemPrincipals } from './bootstrap.js';
import type { AuthStore, GroupFields, PrincipalFields, User, UserFields } from './store.js';

const KEYNAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;
const READ_ONLY = ['id', 'system', 'superuser', 'language', 'last_activity', 'oauth_subject', 'oauth_tstamp', 'oauth_mapping', 'alink', 'register'];

function checkKeys(body: Record<string, unknown>, writable: string[]): void {
  for (const key of Object.keys(body)) if (!writable.includes(key) && !READ_ONLY.includes(key)) throw badField(key, 'is not a known field');
}

function text(body: Record<string, unknown>, name: string, max: number): string | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '' || v.length > max) throw badField(name, `must be a non-empty string of at most ${max} characters`);
  return v;
}

/** Keyname, display name, description and disabled, merged over `current` (a PUT) or new (a POST). */
function principalFields(body: Record<string, unknown>, current?: PrincipalFields & { system: boolean }): PrincipalFields {
  const keyname = text(body, 'keyname', 64);
  if (keyname !== undefined && !KEYNAME.test(keyname)) throw badField('keyname', 'must start with a letter and hold only letters, digits, "_", "." and "-" (at most 64)');
  if (!current && keyname === undefined) throw badField('keyname', 'is required');
  if (current?.system && keyname !== undefined && keyname !== current.keyname) throw new ApiError(422, 'SYSTEM_PRINCIPAL', `The built-in "${current.keyname}" cannot be renamed.`);
  const description = body.description;
  if (description !== undefined && description !== null && typeof description !== 'string') throw badField('description', 'must be a string or null');
  const disabled = body.disabled;
  if (disabled !== undefined && typeof disabled !== 'boolean') throw badField('disabled', 'must be true or false');
  if (current?.system && disabled === true) throw new ApiError(422, 'SYSTEM_PRINCIPAL', `The built-in "${current.keyname}" cannot be disabled.`);
  const k = keyname ?? current!.keyname;
  return {
    keyname: k,
    display_name: text(body, 'display_name', 255) ?? current?.display_name ?? k,
    description: description === undefined ? current?.description ?? null : description as string | null,
    disabled: disabled ?? current?.disabled ?? false,
  };
}

function ids(body: Record<string, unknown>, name: string): number[] | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0 && x <= MAX_ID)) throw badField(name, 'must be a list of ids');
  return v as number[];
}

/**
 * 409 when another user or group has the keyname (ignoring case): ACL rules in catalog.json name
 * principals by keyname, so one keyname for a user and a group would make such a rule ambiguous
 * (the next start refuses the catalog).
 */
async function checkKeynameFree(store: AuthStore, keyname: string, selfId?: number): Promise<void> {
  for (const found of [await store.userByKeyname(keyname), await store.groupByKeyname(keyname)]) {
    if (found && found.id !== selfId) throw keynameTaken(keyname, found.cls);
  }
}

/**
 * 409: the keyname is another principal's. The stores answer it too, for a request that took the
 * keyname after this one checked it was free (two at once creating one keyname).
 */
export const keynameTaken = (keyname: string, cls: 'U' | 'G') =>
  new ApiError(409, 'KEYNAME_TAKEN', `The keyname "${keyname}" is already taken (by a ${cls === 'U' ? 'user' : 'group'}).`);

/** A password to hash: undefined keeps the current one (NGW sends `true` for "unchanged"). */
export function passwordField(body: Record<string, unknown>, required: boolean): string | undefined {
  const v = body.password;
  if (v === undefined || v === true) {
    if (required) throw badField('password', 'is required');
    return undefined;
  }
  if (typeof v !== 'string' || v.length < MIN_PASSWORD || v.length > MAX_PASSWORD) throw badField('password', `must be a string of ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`);
  return v;
}

/** Pseudo-users stand for sets of callers; they have no password and belong to no group. */
export function isPseudoUser(system: SystemPrincipals, id: number): boolean {
  return id === system.guest || id === system.everyone || id === system.authenticated || id === system.owner;
}

export async function userFields(store: AuthStore, system: SystemPrincipals, body: Record<string, unknown>, current?: User): Promise<Omit<UserFields, 'password_hash'>> {
  checkKeys(body, ['keyname', 'display_name', 'description', 'disabled', 'password', 'member_of']);
  const base = principalFields(body, current);
  await checkKeynameFree(store, base.keyname, current?.id);
  const member_of = ids(body, 'member_of') ?? current?.member_of ?? [];
  const groups = new Set((await store.groups()).map((g) => g.id));
  const unknown = member_of.filter((g) => !groups.has(g));
  if (unknown.length) throw badField('member_of', `names unknown groups: ${unknown.join(', ')}`);
  if (current && isPseudoUser(system, current.id) && member_of.length) throw new ApiError(422, 'SYSTEM_PRINCIPAL', `"${current.keyname}" cannot join groups.`);
  return { ...base, member_of };
}

export async function groupFields(store: AuthStore, system: SystemPrincipals, body: Record<string, unknown>, current?: GroupFields & { id: number; system: boolean }): Promise<GroupFields> {
  checkKeys(body, ['keyname', 'display_name', 'description', 'members']);
  const base = principalFields(body, current);
  await checkKeynameFree(store, base.keyname, current?.id);
  const members = ids(body, 'members') ?? current?.members ?? [];
  const users = new Set((await store.users()).filter((u) => !isPseudoUser(system, u.id)).map((u) => u.id));
  const unknown = members.filter((u) => !users.has(u));
  if (unknown.length) throw badField('members', `names unknown users (or pseudo-users, which cannot join groups): ${unknown.join(', ')}`);
  return { ...base, disabled: false, members };
}
