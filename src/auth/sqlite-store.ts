// AuthStore on better-sqlite3. Queries are plain SQL that PostgreSQL also runs (placeholders aside).
import type Database from 'better-sqlite3';
import type { AclRule } from './acl.js';
import { keynameTaken } from './principal-input.js';
import { aclRuleOf, bit, principalOf, type AclRuleRow, type PrincipalRow } from './rows.js';
import type { AuthStore, Group, GroupFields, LoginFailures, Session, User, UserFields } from './store.js';

export class SqliteAuthStore implements AuthStore {
  /** Prepared once per SQL text: every request resolves its caller here, and preparing costs more than running. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  private rows(where: string, ...args: unknown[]): PrincipalRow[] {
    return this.prepare(`SELECT * FROM principal ${where} ORDER BY id`).all(...args) as PrincipalRow[];
  }

  private userOf(r: PrincipalRow): User {
    return { ...principalOf(r), cls: 'U', password_hash: r.password_hash, member_of: this.memberships('user_id', 'group_id', r.id) };
  }

  private groupOf(r: PrincipalRow): Group {
    return { ...principalOf(r), cls: 'G', members: this.memberships('group_id', 'user_id', r.id) };
  }

  private memberships(by: 'user_id' | 'group_id', pick: 'user_id' | 'group_id', id: number): number[] {
    return (this.prepare(`SELECT ${pick} AS id FROM membership WHERE ${by} = ? ORDER BY ${pick}`).all(id) as { id: number }[]).map((r) => r.id);
  }

  async principals() { return this.rows('').map(principalOf); }
  async users() { return this.rows("WHERE cls = 'U'").map((r) => this.userOf(r)); }
  async groups() { return this.rows("WHERE cls = 'G'").map((r) => this.groupOf(r)); }

  async user(id: number) {
    const [r] = this.rows("WHERE cls = 'U' AND id = ?", id);
    return r && this.userOf(r);
  }

  async userByKeyname(keyname: string) {
    const [r] = this.rows("WHERE cls = 'U' AND lower(keyname) = lower(?)", keyname);
    return r && this.userOf(r);
  }

  async group(id: number) {
    const [r] = this.rows("WHERE cls = 'G' AND id = ?", id);
    return r && this.groupOf(r);
  }

  async groupByKeyname(keyname: string) {
    const [r] = this.rows("WHERE cls = 'G' AND lower(keyname) = lower(?)", keyname);
    return r && this.groupOf(r);
  }

  async groupsOf(userId: number) { return this.memberships('user_id', 'group_id', userId); }

  private insert(cls: 'U' | 'G', f: UserFields | GroupFields, system: boolean): number {
    const hash = 'password_hash' in f ? f.password_hash : null;
    const r = this.prepare(`INSERT INTO principal (cls, keyname, display_name, description, system, disabled, password_hash)
      VALUES (?, ?, ?, ?, ?, ?, ?)`).run(cls, f.keyname, f.display_name, f.description, bit(system), bit(f.disabled), hash);
    return Number(r.lastInsertRowid);
  }

  private update(id: number, f: UserFields | GroupFields): void {
    const hash = 'password_hash' in f ? f.password_hash : null;
    this.prepare('UPDATE principal SET keyname = ?, display_name = ?, description = ?, disabled = ?, password_hash = ? WHERE id = ?')
      .run(f.keyname, f.display_name, f.description, bit(f.disabled), hash, id);
  }

  private setMemberships(by: 'user_id' | 'group_id', id: number, others: number[]): void {
    const other = by === 'user_id' ? 'group_id' : 'user_id';
    this.prepare(`DELETE FROM membership WHERE ${by} = ?`).run(id);
    const add = this.prepare(`INSERT INTO membership (${by}, ${other}) VALUES (?, ?)`);
    for (const o of new Set(others)) add.run(id, o);
  }

  /** Inserts (no id) or updates a principal together with its memberships, in one transaction. */
  private save(cls: 'U' | 'G', id: number | undefined, f: UserFields | GroupFields, system: boolean, others: number[]): number {
    try {
      return this.db.transaction(() => {
        const saved = id ?? this.insert(cls, f, system);
        if (id !== undefined) this.update(id, f);
        this.setMemberships(cls === 'U' ? 'user_id' : 'group_id', saved, others);
        return saved;
      })();
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && (e as Error).message.includes('principal_keyname')) throw keynameTaken(f.keyname, cls);
      throw e;
    }
  }

  async createUser(f: UserFields, system = false) { return this.save('U', undefined, f, system, f.member_of); }
  async updateUser(id: number, f: UserFields) { this.save('U', id, f, false, f.member_of); }
  async createGroup(f: GroupFields, system = false) { return this.save('G', undefined, f, system, f.members); }
  async updateGroup(id: number, f: GroupFields) { this.save('G', id, f, false, f.members); }

  async deletePrincipal(id: number) {
    this.prepare('DELETE FROM principal WHERE id = ?').run(id);
  }

  async addMember(groupId: number, userId: number) {
    this.prepare('INSERT INTO membership (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING').run(groupId, userId);
  }

  async createSession(tokenHash: string, userId: number, expiresAt: number) {
    // Expired sessions are swept here, at the moment the table grows.
    this.prepare('DELETE FROM session WHERE expires_at <= ?').run(Date.now());
    this.prepare('INSERT INTO session (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(tokenHash, userId, Date.now(), expiresAt);
  }

  async session(tokenHash: string, now: number): Promise<Session | undefined> {
    return this.prepare('SELECT user_id, expires_at FROM session WHERE token_hash = ? AND expires_at > ?').get(tokenHash, now) as Session | undefined;
  }

  async deleteSession(tokenHash: string) {
    this.prepare('DELETE FROM session WHERE token_hash = ?').run(tokenHash);
  }

  async deleteSessionsOf(userId: number) {
    this.prepare('DELETE FROM session WHERE user_id = ?').run(userId);
  }

  async loginFailures(address: string, since: number): Promise<LoginFailures> {
    return this.prepare(`SELECT COALESCE(SUM(failures), 0) AS count, COALESCE(MAX(last_at), 0) AS last FROM login_failure
      WHERE address = ? AND last_at >= ?`).get(address, since) as LoginFailures;
  }

  async addLoginFailure(address: string, keyname: string, at: number, since: number) {
    // Old failures are swept here, at the moment the table grows.
    this.prepare('DELETE FROM login_failure WHERE last_at < ?').run(since);
    this.prepare(`INSERT INTO login_failure (address, keyname, failures, last_at) VALUES (?, ?, 1, ?)
      ON CONFLICT (address, keyname) DO UPDATE SET failures = login_failure.failures + 1, last_at = excluded.last_at`).run(address, keyname, at);
  }

  async clearLoginFailures(address: string, keyname: string) {
    this.prepare('DELETE FROM login_failure WHERE address = ? AND keyname = ?').run(address, keyname);
  }

  async aclOverrides() {
    const out = new Map<number, AclRule[]>();
    for (const { resource_id } of this.prepare('SELECT resource_id FROM acl_override').all() as { resource_id: number }[]) out.set(resource_id, []);
    for (const r of this.prepare('SELECT * FROM acl_rule ORDER BY resource_id, position').all() as AclRuleRow[]) out.get(r.resource_id)!.push(aclRuleOf(r));
    return out;
  }

  async setAcl(resourceId: number, rules: AclRule[]) {
    this.db.transaction(() => {
      this.prepare('DELETE FROM acl_override WHERE resource_id = ?').run(resourceId);
      this.prepare('INSERT INTO acl_override (resource_id) VALUES (?)').run(resourceId);
      const add = this.prepare(`INSERT INTO acl_rule (resource_id, position, action, principal_id, identity, scope, permission, propagate)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
      rules.forEach((r, i) => add.run(resourceId, i, r.action, r.principal.id, r.identity, r.scope, r.permission, bit(r.propagate)));
    })();
  }

  async close() { this.db.close(); }
}
