// Auth rows as both SQL engines return them (booleans are 0/1 integers), and what they mean.
import type { AclRule } from './acl.js';
import type { Principal } from './store.js';

export interface PrincipalRow {
  id: number; cls: 'U' | 'G'; keyname: string; display_name: string; description: string | null;
  system: number; disabled: number; password_hash: string | null;
}

export interface AclRuleRow {
  resource_id: number; action: 'allow' | 'deny'; principal_id: number; identity: string; scope: string; permission: string; propagate: number;
}

export const bit = (b: boolean) => (b ? 1 : 0);

export function principalOf(r: PrincipalRow): Principal {
  return {
    id: r.id, cls: r.cls, keyname: r.keyname, display_name: r.display_name, description: r.description,
    system: r.system === 1, disabled: r.disabled === 1,
  };
}

export function aclRuleOf(r: AclRuleRow): AclRule {
  return { action: r.action, principal: { id: r.principal_id }, identity: r.identity, scope: r.scope, permission: r.permission, propagate: r.propagate === 1 };
}
