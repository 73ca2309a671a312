// AuthStore on PostgreSQL, shared by every instance. Each write also sends NOTIFY on AUTH_CHANNEL
// (delivered at commit) so the other instances drop what they remember (see pg-changes.ts). A
// database that cannot be reached answers 503, as for PostGIS layers.
import pg from 'pg';
import type { Logger } from 'pino';
import { guarded, inTransaction } from '../store/postgis/connections.js';
import type { AclRule } from './acl.js';
import { keynameTaken } from './principal-input.js';
import { ChangeListener } from './pg-changes.js';
import { aclRuleOf, bit, principalOf, type AclRuleRow, type PrincipalRow } from './rows.js';
import type { AuthStore, Group, GroupFields, LoginFailures, Session, User, UserFields } from './store.js';

export const AUTH_CHANNEL = 'meridian_auth';

/** What a query needs: the pool, or one client inside a transaction. */
type Queryable = Pick<pg.Pool, 'query'>;

/** PostgreSQL's SQLSTATE for a unique index refusing a row. */
const UNIQUE_VIOLATION = '23505';

export class PgAuthStore implements AuthStore {
  private listener: ChangeListener | null = null;

  constructor(private readonly db: pg.Pool, private readonly url: string, private readonly log: Logger) {}

  /** Calls `changed` when another instance (or this one) has changed users, groups or ACLs. */
  async watch(changed: () => void): Promise<void> {
    this.listener = new ChangeListener(this.url, AUTH_CHANNEL, this.log, changed);
    await this.listener.start();
  }

  private async query<R extends pg.QueryResultRow>(sql: string, args: unknown[] = [], on: Queryable = this.db): Promise<R[]> {
    return (await guarded('the auth database', () => on.query<R>(sql, args))).rows;
  }

  /** Runs `work` in one transaction that ends by telling the other instances that auth data changed. */
  private change<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return inTransaction(this.db, 'the auth database', async (tx) => {
      const result = await work(tx);
      await tx.query('SELECT pg_notify($1, $2)', [AUTH_CHANNEL, String(process.pid)]);
      return result;
    });
  }


  private rows(where: string, ...args: unknown[]): Promise<PrincipalRow[]> {
    return this.query<PrincipalRow>(`SELECT * FROM principal ${where} ORDER BY id`, args);
  }

  private async userOf(r: PrincipalRow): Promise<User> {
    return { ...principalOf(r), cls: 'U', password_hash: r.password_hash, member_of: await this.memberships('user_id', 'group_id', r.id) };
  }

  private async groupOf(r: PrincipalRow): Promise<Group> {
    return { ...principalOf(r), cls: 'G', members: await this.memberships('group_id', 'user_id', r.id) };
  }

  private async memberships(by: 'user_id' | 'group_id', pick: 'user_id' | 'group_id', id: number): Promise<number[]> {
    return (await this.query<{ id: number }>(`SELECT ${pick} AS id FROM membership WHERE ${by} = $1 ORDER BY ${pick}`, [id])).map((r) => r.id);
  }

  async principals() { return (await this.rows('')).map(principalOf); }
  async users() { return Promise.all((await this.rows("WHERE cls = 'U'")).map((r) => this.userOf(r))); }
  async groups() { return Promise.all((await this.rows("WHERE cls = 'G'")).map((r) => this.groupOf(r))); }

  async user(id: number) {
    const [r] = await this.rows("WHERE cls = 'U' AND id = $1", id);
    return r && this.userOf(r);
  }

  async userByKeyname(keyname: string) {
    const [r] = await this.rows("WHERE cls = 'U' AND lower(keyname) = lower($1)", keyname);
    return r && this.userOf(r);
  }

  async group(id: number) {
    const [r] = await this.rows("WHERE cls = 'G' AND id = $1", id);
    return r && this.groupOf(r);
  }

  async groupByKeyname(keyname: string) {
    const [r] = await this.rows("WHERE cls = 'G' AND lower(keyname) = lower($1)", keyname);
    return r && this.groupOf(r);
  }

  async groupsOf(userId: number) { return this.memberships('user_id', 'group_id', userId); }

  /** Inserts (no id) or updates a principal together with its memberships, in one transaction. */
  private save(cls: 'U' | 'G', id: number | undefined, f: UserFields | GroupFields, system: boolean, others: number[]): Promise<number> {
    const hash = 'password_hash' in f ? f.password_hash : null;
    const saving = this.change(async (tx) => {
      let saved = id;
      if (saved === undefined) {
        [{ id: saved }] = await this.query<{ id: number }>(`INSERT INTO principal (cls, keyname, display_name, description, system, disabled, password_hash)
          VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, [cls, f.keyname, f.display_name, f.description, bit(system), bit(f.disabled), hash], tx);
      } else {
        await this.query('UPDATE principal SET keyname = $1, display_name = $2, description = $3, disabled = $4, password_hash = $5 WHERE id = $6',
          [f.keyname, f.display_name, f.description, bit(f.disabled), hash, saved], tx);
      }
      const [by, other] = cls === 'U' ? ['user_id', 'group_id'] : ['group_id', 'user_id'];
      await this.query(`DELETE FROM membership WHERE ${by} = $1`, [saved], tx);
      for (const o of new Set(others)) await this.query(`INSERT INTO membership (${by}, ${other}) VALUES ($1, $2)`, [saved, o], tx);
      return saved;
    });
    return saving.catch((e: { code?: string; constraint?: string }) => {
      if (e.code === UNIQUE_VIOLATION && e.constraint === 'principal_keyname') throw keynameTaken(f.keyname, cls);
      throw e;
    });
  }

  async createUser(f: UserFields, system = false) { return this.save('U', undefined, f, system, f.member_of); }
  async updateUser(id: number, f: UserFields) { await this.save('U', id, f, false, f.member_of); }
  async createGroup(f: GroupFields, system = false) { return this.save('G', undefined, f, system, f.members); }
  async updateGroup(id: number, f: GroupFields) { await this.save('G', id, f, false, f.members); }

  async deletePrincipal(id: number) {
    await this.change((tx) => this.query('DELETE FROM principal WHERE id = $1', [id], tx));
  }

  async addMember(groupId: number, userId: number) {
    await this.change((tx) => this.query('INSERT INTO membership (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [groupId, userId], tx));
  }

  async createSession(tokenHash: string, userId: number, expiresAt: number) {
    // Expired sessions are swept here, at the moment the table grows.
    await this.query('DELETE FROM session WHERE expires_at <= $1', [Date.now()]);
    await this.query('INSERT INTO session (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [tokenHash, userId, Date.now(), expiresAt]);
  }

  async session(tokenHash: string, now: number): Promise<Session | undefined> {
    const [s] = await this.query<Session>('SELECT user_id, expires_at::float8 AS expires_at FROM session WHERE token_hash = $1 AND expires_at > $2', [tokenHash, now]);
    return s;
  }

  async deleteSession(tokenHash: string) {
    await this.query('DELETE FROM session WHERE token_hash = $1', [tokenHash]);
  }

  async deleteSessionsOf(userId: number) {
    await this.query('DELETE FROM session WHERE user_id = $1', [userId]);
  }

  async loginFailures(address: string, since: number): Promise<LoginFailures> {
    const [f] = await this.query<LoginFailures>(`SELECT COALESCE(SUM(failures), 0)::int AS count, COALESCE(MAX(last_at), 0)::float8 AS last
      FROM login_failure WHERE address = $1 AND last_at >= $2`, [address, since]);
    return f;
  }

  async addLoginFailure(address: string, keyname: string, at: number, since: number) {
    // Old failures are swept here, at the moment the table grows.
    await this.query('DELETE FROM login_failure WHERE last_at < $1', [since]);
    await this.query(`INSERT INTO login_failure (address, keyname, failures, last_at) VALUES ($1, $2, 1, $3)
      ON CONFLICT (address, keyname) DO UPDATE SET failures = login_failure.failures + 1, last_at = excluded.last_at`, [address, keyname, at]);
  }

  async clearLoginFailures(address: string, keyname: string) {
    await this.query('DELETE FROM login_failure WHERE address = $1 AND keyname = $2', [address, keyname]);
  }

  async aclOverrides() {
    const out = new Map<number, AclRule[]>();
    for (const { resource_id } of await this.query<{ resource_id: number }>('SELECT resource_id FROM acl_override')) out.set(resource_id, []);
    for (const r of await this.query<AclRuleRow>('SELECT * FROM acl_rule ORDER BY resource_id, position')) out.get(r.resource_id)!.push(aclRuleOf(r));
    return out;
  }

  async setAcl(resourceId: number, rules: AclRule[]) {
    await this.change(async (tx) => {
      await this.query('DELETE FROM acl_override WHERE resource_id = $1', [resourceId], tx);
      await this.query('INSERT INTO acl_override (resource_id) VALUES ($1)', [resourceId], tx);
      for (const [i, r] of rules.entries()) {
        await this.query(`INSERT INTO acl_rule (resource_id, position, action, principal_id, identity, scope, permission, propagate)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [resourceId, i, r.action, r.principal.id, r.identity, r.scope, r.permission, bit(r.propagate)], tx);
      }
    });
  }

  async close() {
    await this.listener?.close();
    await this.db.end();
  }
}
