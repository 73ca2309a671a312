// GET /api/resource/{id}/permission (the caller's effective permissions, NGW shape) and
// PUT /api/resource/{id} with {"resource": {"permissions": [...]}} (replacing a resource's ACL).
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import { AclError, parseAclRules, SCOPES } from '../auth/acl.js';
import { principalLookup } from '../auth/policy.js';
import { RESOURCE_CLASSES } from '../catalog/classes.js';
import { denied } from '../http/auth.js';
import { bodyObject, readJson } from '../http/body.js';
import { ApiError } from '../http/errors.js';
import { intParam, MAX_ID, single } from '../http/params.js';
import { resourceFor } from '../http/resources.js';
import type { Services } from '../services.js';

export function permissionRoutes(services: Services): Router {
  const { store, policy, authenticator } = services.auth;
  const router = apiRouter();

  router.get('resource.permission', '/api/resource/:id/permission', async (ctx) => {
    const entry = resourceFor(ctx, services, ctx.params.id, 'resource.read');
    let caller = ctx.state.user;
    const userParam = single(ctx.query.user as string | string[] | undefined);
    if (userParam !== undefined) {
      const id = intParam(userParam, 'user', 0, MAX_ID);
      // As NGW: one who may change the resource's permissions may see anyone's.
      if (id !== caller.id) {
        if (!policy.permissionsOf(caller, entry).has('resource.change_permissions')) {
          throw denied(ctx, `see another user's permissions on resource ${entry.id} (needs resource.change_permissions)`);
        }
        const user = await store.user(id);
        if (!user) throw new ApiError(404, 'USER_NOT_FOUND', `User ${id} was not found.`);
        caller = id === policy.system.guest ? await authenticator.guest() : await authenticator.callerOf(user, 'session');
      }
    }
    const held = policy.permissionsOf(caller, entry);
    const body: Record<string, Record<string, boolean>> = {};
    for (const scope of services.catalog.classOf(entry).scopes) {
      body[scope] = Object.fromEntries(SCOPES[scope].map((p) => [p, held.has(`${scope}.${p}` as never)]));
    }
    ctx.body = body;
  });

  router.put('resource.item', '/api/resource/:id', readJson, async (ctx) => {
    const entry = resourceFor(ctx, services, ctx.params.id, 'resource.change_permissions');
    const body = bodyObject(ctx);
    const resource = body.resource as Record<string, unknown> | undefined;
    const onlyPermissions = Object.keys(body).length === 1 && resource && typeof resource === 'object'
      && Object.keys(resource).length === 1 && 'permissions' in resource;
    if (!onlyPermissions) {
      throw new ApiError(422, 'READ_ONLY_RESOURCE', 'Resources come from catalog.json; only {"resource": {"permissions": [...]}} can be changed at run time.');
    }
    let rules;
    try {
      rules = parseAclRules(resource!.permissions, principalLookup(await store.principals()), Object.keys(RESOURCE_CLASSES));
    } catch (e) {
      if (e instanceof AclError) throw new ApiError(400, 'INVALID_ACL', e.message, 'Invalid permissions');
      throw e;
    }
    await policy.setAcl(entry.id, rules);
    services.log.info({ resource: entry.id, by: ctx.state.user.keyname, rules: rules.length }, 'resource ACL changed');
    ctx.body = { id: entry.id };
  });

  return router;
}
