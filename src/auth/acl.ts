// Resource ACL rules as NextGIS Web writes them, and their validation. An empty identity, scope or
// permission means "any": {scope: "", permission: ""} covers every permission of the resource.
import type { Permission } from '../http/resources.js';

export interface AclRule {
  action: 'allow' | 'deny';
  principal: { id: number };
  /** A resource class the rule is limited to, or "" for all. */
  identity: string;
  scope: string;
  permission: string;
  /** Whether the rule also applies to the resource's descendants. */
  propagate: boolean;
}

/** NGW's permission scopes and the permissions in each. */
export const SCOPES: Record<string, string[]> = {
  resource: ['read', 'create', 'update', 'delete', 'manage_children', 'change_permissions'],
  datastruct: ['read', 'write'],
  data: ['read', 'write'],
  metadata: ['read', 'write'],
};

/** The permissions of the given scopes, as scope.permission. */
export function permissionsIn(scopes: string[]): Permission[] {
  return scopes.flatMap((s) => (SCOPES[s] ?? []).map((p) => `${s}.${p}` as Permission));
}

export function ruleCovers(rule: AclRule, permission: Permission): boolean {
  const [scope, name] = permission.split('.');
  return (rule.scope === '' || rule.scope === scope) && (rule.permission === '' || rule.permission === name);
}

export class AclError extends Error {}

/** Finds a principal's id from a rule's {"id": n} or {"keyname": "..."}; undefined if none. */
export type PrincipalLookup = (ref: { id?: unknown; keyname?: unknown }) => number | undefined;

/** Checks a list of rules from JSON (catalog.json or a request) and returns them normalised. */
export function parseAclRules(value: unknown, lookup: PrincipalLookup, classes: string[]): AclRule[] {
  if (!Array.isArray(value)) throw new AclError('"permissions" must be a list of rules');
  return value.map((raw, i) => {
    const at = `permissions[${i}]`;
    if (!raw || typeof raw !== 'object') throw new AclError(`${at} must be an object`);
    const r = raw as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (!['action', 'principal', 'identity', 'scope', 'permission', 'propagate'].includes(key)) throw new AclError(`${at} has an unknown key "${key}"`);
    }
    if (r.action !== 'allow' && r.action !== 'deny') throw new AclError(`${at}.action must be "allow" or "deny"`);
    const ref = r.principal as { id?: unknown; keyname?: unknown } | undefined;
    // Only the reference is kept (and quoted back), not the rest of what was sent, of any depth.
    const named = !ref || typeof ref !== 'object' ? undefined
      : ref.id !== undefined ? (typeof ref.id === 'number' ? { id: ref.id } : undefined)
      : typeof ref.keyname === 'string' ? { keyname: ref.keyname } : undefined;
    if (!named) throw new AclError(`${at}.principal must be {"id": n} or {"keyname": "..."}`);
    const id = lookup(named);
    if (id === undefined) throw new AclError(`${at}.principal ${JSON.stringify(named)} is not a known user or group`);
    const identity = r.identity ?? '';
    if (typeof identity !== 'string' || (identity !== '' && !classes.includes(identity))) throw new AclError(`${at}.identity must be "" or a resource class (${classes.join(', ')})`);
    const scope = r.scope ?? '';
    // Own keys only: "__proto__" or "constructor" must not pass for a scope.
    if (typeof scope !== 'string' || (scope !== '' && !Object.hasOwn(SCOPES, scope))) throw new AclError(`${at}.scope must be "" or one of ${Object.keys(SCOPES).join(', ')}`);
    const permission = r.permission ?? '';
    if (typeof permission !== 'string') throw new AclError(`${at}.permission must be a string`);
    if (permission !== '' && (scope === '' || !SCOPES[scope].includes(permission))) {
      throw new AclError(`${at}.permission "${permission}" is not a permission of scope "${scope}"`);
    }
    const propagate = r.propagate ?? true;
    if (typeof propagate !== 'boolean') throw new AclError(`${at}.propagate must be true or false`);
    return { action: r.action, principal: { id }, identity, scope, permission, propagate };
  });
}
