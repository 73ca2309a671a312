// What the auth code needs from storage. Every method returns a promise so a networked database
// (PostgreSQL, for scale-out) can implement the same interface; SQLite answers synchronously inside.
import type { AclRule } from './acl.js';

export interface Principal {
  id: number;
  cls: 'U' | 'G';
  keyname: string;
  display_name: string;
  description: string | null;
  /** Built in: cannot be deleted, disabled or renamed. */
  system: boolean;
  disabled: boolean;
}

export interface User extends Principal {
  cls: 'U';
  /** scrypt$... (see passwords.ts); never leaves the server. */
  password_hash: string | null;
  member_of: number[];
}

export interface Group extends Principal {
  cls: 'G';
  members: number[];
}

export interface PrincipalFields {
  keyname: string;
  display_name: string;
  description: string | null;
  disabled: boolean;
}

export interface UserFields extends PrincipalFields {
  password_hash: string | null;
  member_of: number[];
}

export interface GroupFields extends PrincipalFields {
  members: number[];
}

export interface Session {
  user_id: number;
  expires_at: number;
}

/** Failed logins from one address (see throttle.ts). */
export interface LoginFailures {
  count: number;
  /** When the latest was, ms since the epoch (0 when none). */
  last: number;
}

export interface AuthStore {
  /** Every principal, users and groups, ordered by id. */
  principals(): Promise<Principal[]>;
  user(id: number): Promise<User | undefined>;
  userByKeyname(keyname: string): Promise<User | undefined>;
  group(id: number): Promise<Group | undefined>;
  groupByKeyname(keyname: string): Promise<Group | undefined>;
  users(): Promise<User[]>;
  groups(): Promise<Group[]>;
  /** Ids of the groups the user belongs to. */
  groupsOf(userId: number): Promise<number[]>;
  createUser(fields: UserFields, system?: boolean): Promise<number>;
  updateUser(id: number, fields: UserFields): Promise<void>;
  createGroup(fields: GroupFields, system?: boolean): Promise<number>;
  updateGroup(id: number, fields: GroupFields): Promise<void>;
  /** Deletes a user or a group with its memberships, sessions and ACL rules naming it. */
  deletePrincipal(id: number): Promise<void>;
  addMember(groupId: number, userId: number): Promise<void>;

  createSession(tokenHash: string, userId: number, expiresAt: number): Promise<void>;
  session(tokenHash: string, now: number): Promise<Session | undefined>;
  deleteSession(tokenHash: string): Promise<void>;
  deleteSessionsOf(userId: number): Promise<void>;

  /** Failed logins from `address` at or after `since`, at every keyname. */
  loginFailures(address: string, since: number): Promise<LoginFailures>;
  /** Counts a failed login from `address` at `keyname`; failures before `since` (of any address) are dropped. */
  addLoginFailure(address: string, keyname: string, at: number, since: number): Promise<void>;
  /** Takes back the failures from `address` at `keyname`. */
  clearLoginFailures(address: string, keyname: string): Promise<void>;

  /** ACLs set at run time, by resource id. */
  aclOverrides(): Promise<Map<number, AclRule[]>>;
  setAcl(resourceId: number, rules: AclRule[]): Promise<void>;

  close(): Promise<void>;
}
