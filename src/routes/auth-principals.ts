// /api/component/auth/user/ and /group/ (NextGIS Web auth API): managing users and groups.
// Administrators only. Passwords go in, never out: a user's "password" field is only true/false.
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import type { Context } from 'koa';
import { hashPassword } from '../auth/passwords.js';
import { groupFields, passwordField, userFields } from '../auth/principal-input.js';
import type { Group, User } from '../auth/store.js';
import { requireAdministrator } from '../http/auth.js';
import { bodyObject, readJson } from '../http/body.js';
import { ApiError } from '../http/errors.js';
import { intParam, MAX_ID } from '../http/params.js';
import type { Services } from '../services.js';

const BASE = '/api/component/auth';

export function userJson(u: User) {
  return {
    id: u.id, keyname: u.keyname, display_name: u.display_name, description: u.description,
    system: u.system, disabled: u.disabled, superuser: false, password: u.password_hash !== null,
    member_of: u.member_of, language: null,
  };
}

/** `registrationGroup`: the group self-registered users join (NGW's `register` flag; here set by the configuration). */
export function groupJson(g: Group, registrationGroup: string | null) {
  return {
    id: g.id, keyname: g.keyname, display_name: g.display_name, description: g.description, system: g.system,
    register: g.keyname === registrationGroup, members: g.members,
  };
}

export function principalRoutes(services: Services): Router {
  const { store, policy, authenticator } = services.auth;
  const { system } = policy;
  const { passwordCost: cost, registrationGroup } = services.config;
  const router = apiRouter({ prefix: BASE });
  router.use((ctx, next) => { requireAdministrator(ctx); return next(); });

  const userOr404 = async (ctx: Context) => {
    const user = await store.user(intParam(ctx.params.id, 'id', 0, MAX_ID));
    if (!user) throw new ApiError(404, 'USER_NOT_FOUND', `User ${ctx.params.id} was not found.`);
    return user;
  };
  const groupOr404 = async (ctx: Context) => {
    const group = await store.group(intParam(ctx.params.id, 'id', 0, MAX_ID));
    if (!group) throw new ApiError(404, 'GROUP_NOT_FOUND', `Group ${ctx.params.id} was not found.`);
    return group;
  };
  const deletable = (p: User | Group) => {
    if (p.system) throw new ApiError(422, 'SYSTEM_PRINCIPAL', `The built-in "${p.keyname}" cannot be deleted.`);
    if (policy.namedByCatalog(p.id)) throw new ApiError(409, 'PRINCIPAL_IN_USE', `"${p.keyname}" is named by ACL rules in catalog.json; remove them first.`);
  };

  router.get('auth.user.collection', '/user/', async (ctx) => { ctx.body = (await store.users()).map(userJson); });

  router.post('auth.user.collection', '/user/', readJson, async (ctx) => {
    const body = bodyObject(ctx);
    const password = passwordField(body, true)!;
    const fields = await userFields(store, system, body);
    const id = await store.createUser({ ...fields, password_hash: await hashPassword(password, cost) });
    authenticator.userAdded();
    ctx.body = { id };
  });

  router.get('auth.user.item', '/user/:id', async (ctx) => { ctx.body = userJson(await userOr404(ctx)); });

  router.put('auth.user.item', '/user/:id', readJson, async (ctx) => {
    const user = await userOr404(ctx);
    const body = bodyObject(ctx);
    const fields = await userFields(store, system, body, user);
    const password = passwordField(body, false);
    if (password !== undefined && (user.system && user.id !== system.administrator)) {
      throw new ApiError(422, 'SYSTEM_PRINCIPAL', `"${user.keyname}" cannot have a password.`);
    }
    const password_hash = password === undefined ? user.password_hash : await hashPassword(password, cost);
    await store.updateUser(user.id, { ...fields, password_hash });
    await authenticator.userChanged(user.id, fields.disabled || password !== undefined);
    ctx.body = {};
  });

  router.delete('auth.user.item', '/user/:id', async (ctx) => {
    const user = await userOr404(ctx);
    deletable(user);
    await store.deletePrincipal(user.id);
    await authenticator.userChanged(user.id, true);
    await policy.reload();
    ctx.body = {};
  });

  router.get('auth.group.collection', '/group/', async (ctx) => { ctx.body = (await store.groups()).map((g) => groupJson(g, registrationGroup)); });

  router.post('auth.group.collection', '/group/', readJson, async (ctx) => {
    ctx.body = { id: await store.createGroup(await groupFields(store, system, bodyObject(ctx))) };
  });

  router.get('auth.group.item', '/group/:id', async (ctx) => { ctx.body = groupJson(await groupOr404(ctx), registrationGroup); });

  router.put('auth.group.item', '/group/:id', readJson, async (ctx) => {
    const group = await groupOr404(ctx);
    await store.updateGroup(group.id, await groupFields(store, system, bodyObject(ctx), group));
    await authenticator.userChanged(group.id, false);
    ctx.body = {};
  });

  router.delete('auth.group.item', '/group/:id', async (ctx) => {
    const group = await groupOr404(ctx);
    deletable(group);
    await store.deletePrincipal(group.id);
    await policy.reload();
    ctx.body = {};
  });

  return router;
}
