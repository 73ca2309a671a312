// Effective permissions: a resource's ACL plus its ancestors' propagating rules, deny beating allow
// (NGW's rule: allowed = allows - denies over the whole chain). Administrators are allowed
// everything. The root's ACL defaults to "everyone may read" (DEFAULT_ROOT_ACL). ACLs live in memory
// (catalog.json's, replaced per resource by those set at run time), so checks are synchronous.
import { CatalogError, ROOT_ID, type Catalog } from '../catalog/catalog.js';
import { RESOURCE_CLASSES } from '../catalog/classes.js';
import type { ResourceEntry } from '../catalog/types.js';
import type { Permission } from '../http/resources.js';
import { AclError, parseAclRules, permissionsIn, ruleCovers, type AclRule, type PrincipalLookup } from './acl.js';
import type { SystemPrincipals } from './bootstrap.js';
import type { Caller } from './caller.js';
import type { AuthStore, Principal } from './store.js';

const READ_SCOPES = ['resource', 'datastruct', 'data', 'metadata'];

const MAX_DECISIONS = 100_000;

export class AccessPolicy {
  private readonly catalogAcls = new Map<number, AclRule[]>();
  private overrides = new Map<number, AclRule[]>();
  /** ACLs set here so far: a reload that read the database before one was set reads it again. */
  private aclsSet = 0;
  private readonly defaultRootAcl: AclRule[];
  /** Evaluated permissions per (caller's principals, resource): every request asks, ACLs rarely change. */
  private readonly decided = new Map<string, Set<Permission>>();

  private constructor(private readonly catalog: Catalog, private readonly store: AuthStore, readonly system: SystemPrincipals) {
    this.defaultRootAcl = READ_SCOPES.map((scope) => ({
      action: 'allow', principal: { id: system.everyone }, identity: '', scope, permission: 'read', propagate: true,
    }));
  }

  /** Validates the catalog's ACLs against the known principals; a bad rule stops start-up. */
  static async create(catalog: Catalog, store: AuthStore, system: SystemPrincipals): Promise<AccessPolicy> {
    const policy = new AccessPolicy(catalog, store, system);
    const lookup = principalLookup(await store.principals());
    for (const entry of catalog.resources.values()) {
      if (entry.permissions === undefined) continue;
      try {
        policy.catalogAcls.set(entry.id, parseAclRules(entry.permissions, lookup, Object.keys(RESOURCE_CLASSES)));
      } catch (e) {
        if (e instanceof AclError) throw new CatalogError(`resource ${entry.id}: ${e.message}`);
        throw e;
      }
    }
    policy.overrides = await store.aclOverrides();
    return policy;
  }

  /** The ACL in force on a resource itself (without inherited rules). */
  aclOf(id: number): AclRule[] {
    return this.overrides.get(id) ?? this.catalogAcls.get(id) ?? (id === ROOT_ID ? this.defaultRootAcl : []);
  }

  /** Replaces a resource's ACL; persisted before it takes effect. */
  async setAcl(id: number, rules: AclRule[]): Promise<void> {
    await this.store.setAcl(id, rules);
    this.aclsSet++;
    this.overrides.set(id, rules);
    this.decided.clear();
  }

  /** Re-reads run-time ACLs (a deleted principal takes its rules with it). */
  async reload(): Promise<void> {
    let overrides, set;
    do {
      set = this.aclsSet;
      overrides = await this.store.aclOverrides();
    } while (set !== this.aclsSet);
    this.overrides = overrides;
    this.decided.clear();
  }

  /** Whether any catalog.json rule names the principal (such principals cannot be deleted). */
  namedByCatalog(principalId: number): boolean {
    for (const rules of this.catalogAcls.values()) if (rules.some((r) => r.principal.id === principalId)) return true;
    return false;
  }

  /** Every permission the caller holds on the resource. */
  permissionsOf(caller: Caller, entry: ResourceEntry): Set<Permission> {
    const key = `${caller.id}|${caller.guest}|${caller.administrator}|${caller.groups.join(',')}|${entry.id}`;
    let granted = this.decided.get(key);
    if (!granted) {
      if (this.decided.size >= MAX_DECISIONS) this.decided.clear();
      this.decided.set(key, (granted = this.evaluate(caller, entry)));
    }
    return granted;
  }

  private evaluate(caller: Caller, entry: ResourceEntry): Set<Permission> {
    const all = permissionsIn(this.catalog.classOf(entry).scopes);
    if (caller.administrator) return new Set(all);
    const principals = new Set([caller.id, ...caller.groups, this.system.everyone]);
    if (!caller.guest) principals.add(this.system.authenticated);
    // Catalog resources are owned by the built-in administrator.
    if (caller.id === this.system.administrator) principals.add(this.system.owner);
    const allow = new Set<Permission>(), deny = new Set<Permission>();
    const chain = [...this.catalog.ancestorsOf(entry.id).reverse(), entry];
    for (const res of chain) {
      for (const rule of this.aclOf(res.id)) {
        if (!principals.has(rule.principal.id) || (res !== entry && !rule.propagate)) continue;
        if (rule.identity !== '' && rule.identity !== entry.cls) continue;
        for (const p of all) if (ruleCovers(rule, p)) (rule.action === 'allow' ? allow : deny).add(p);
      }
    }
    const granted = new Set([...allow].filter((p) => !deny.has(p)));
    // NGW's requirements: nothing without resource.read; a style's data needs its layer's data.
    if (!granted.has('resource.read')) return new Set();
    const parent = entry.parent === null ? undefined : this.catalog.get(entry.parent);
    if (this.catalog.classOf(entry).style && parent && !this.permissionsOf(caller, parent).has('data.read')) granted.delete('data.read');
    return granted;
  }

  allows(caller: Caller, entry: ResourceEntry, permission: Permission): boolean {
    return this.permissionsOf(caller, entry).has(permission);
  }
}

/** Resolves {"id": n} or {"keyname": "..."} (users first, then groups; ambiguous names need an id). */
export function principalLookup(principals: Principal[]): PrincipalLookup {
  return (ref) => {
    if (ref.id !== undefined) return principals.find((p) => p.id === ref.id)?.id;
    if (typeof ref.keyname !== 'string') return undefined;
    const matches = principals.filter((p) => p.keyname.toLowerCase() === (ref.keyname as string).toLowerCase());
    return matches.length === 1 ? matches[0].id : undefined;
  };
}
