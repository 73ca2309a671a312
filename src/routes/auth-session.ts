// /api/component/auth/login, /logout, /current_user and /register (NextGIS Web auth API).
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import type { Context } from 'koa';
import type { Caller } from '../auth/caller.js';
import { hashPassword } from '../auth/passwords.js';
import { passwordField, userFields } from '../auth/principal-input.js';
import { refuseCrossOrigin, SESSION_COOKIE } from '../http/auth.js';
import { badField, bodyObject, readJson, readJsonOrForm } from '../http/body.js';
import { ApiError } from '../http/errors.js';
import type { Services } from '../services.js';

function currentUserJson(c: Caller) {
  return {
    id: c.id, keyname: c.keyname, display_name: c.display_name, language: 'en',
    auth_medium: c.guest ? null : c.via, auth_provider: c.guest ? null : 'local_pw',
  };
}

export function sessionRoutes(services: Services): Router {
  const { store, authenticator, policy } = services.auth;
  const { config } = services;
  const router = apiRouter({ prefix: '/api/component/auth' });

  const currentUser = (ctx: Context) => { ctx.body = currentUserJson(ctx.state.user); };
  router.get('auth.current_user', '/current_user', currentUser);
  router.post('auth.current_user', '/current_user', currentUser);

  router.post('auth.login', '/login', readJsonOrForm, async (ctx) => {
    // Another site's page must not sign the browser in as someone else (login forgery).
    refuseCrossOrigin(ctx);
    const body = bodyObject(ctx);
    // NGW's documented field is "login"; "keyname" is accepted too.
    const login = body.login ?? body.keyname;
    if (typeof login !== 'string' || !login) throw badField('login', 'is required (the user\'s keyname)');
    if (typeof body.password !== 'string') throw badField('password', 'is required');
    const user = await authenticator.checkPassword(login, body.password, ctx.ip);
    const old = ctx.cookies.get(SESSION_COOKIE);
    if (old) await authenticator.endSession(old);
    ctx.cookies.set(SESSION_COOKIE, await authenticator.startSession(user), {
      httpOnly: true, sameSite: 'lax', secure: ctx.secure, path: '/', maxAge: authenticator.sessionTtlMs, overwrite: true,
    });
    ctx.body = { id: user.id, keyname: user.keyname, display_name: user.display_name };
  });

  router.post('auth.logout', '/logout', async (ctx) => {
    const token = ctx.cookies.get(SESSION_COOKIE);
    if (token) await authenticator.endSession(token);
    ctx.cookies.set(SESSION_COOKIE, null, { httpOnly: true, sameSite: 'lax', path: '/', overwrite: true });
    ctx.body = {};
  });

  router.post('auth.register', '/register', readJson, async (ctx) => {
    if (!config.registration) throw new ApiError(403, 'REGISTRATION_DISABLED', 'Registration is not enabled on this server.');
    const body = bodyObject(ctx);
    if (body.member_of !== undefined || body.disabled !== undefined) throw badField(body.member_of !== undefined ? 'member_of' : 'disabled', 'cannot be set when registering');
    const password = passwordField(body, true)!;
    const group = config.registrationGroup ? await store.groupByKeyname(config.registrationGroup) : undefined;
    const fields = await userFields(store, policy.system, { ...body, member_of: group ? [group.id] : [] });
    const id = await store.createUser({ ...fields, password_hash: await hashPassword(password, config.passwordCost) });
    authenticator.userAdded();
    ctx.body = { id, keyname: fields.keyname, display_name: fields.display_name };
  });

  return router;
}
