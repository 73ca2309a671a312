// Who is calling, for every request: the caller middleware puts a Caller in ctx.state.user (from an
// "Authorization: Basic" header, else the session cookie, else guest), and turns "public" caching
// into "private" on answers to signed-in callers. Management endpoints call
// requireAdministrator(ctx); resource endpoints go through resourceFor (resources.ts), whose
// services.authorize is `authorizeBy(policy)` here.
import type { Context, Next } from 'koa';
import { unauthorized } from '../auth/authenticator.js';
import type { Caller } from '../auth/caller.js';
import type { AccessPolicy } from '../auth/policy.js';
import type { Services } from '../services.js';
import { ApiError } from './errors.js';
import type { Authorize } from './resources.js';

declare module 'koa' {
  interface DefaultState {
    /** The caller, set by `resolveCaller` before any route runs. */
    user: Caller;
  }
}

/** The session cookie's name, as NextGIS Web calls it. */
export const SESSION_COOKIE = 'ngw_sid';

export function resolveCaller(services: Services) {
  const { authenticator } = services.auth;
  return async (ctx: Context, next: Next) => {
    const header = ctx.get('authorization');
    const token = ctx.cookies.get(SESSION_COOKIE);
    let caller: Caller | undefined;
    if (/^basic /i.test(header)) caller = await authenticator.basic(header, ctx.ip);
    else if (token) caller = await authenticator.session(token);
    if (caller) refuseCrossOrigin(ctx);
    ctx.state.user = caller ?? await authenticator.guest();
    await next();
    // An answer to a signed-in caller may hold what guests may not see: no shared cache may keep it.
    const cacheControl = ctx.response.get('Cache-Control');
    if (!ctx.state.user.guest && /\bpublic\b/.test(cacheControl)) ctx.set('Cache-Control', cacheControl.replace(/\bpublic\b/, 'private'));
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing request a browser sent from a page of another origin (request forgery):
 * its Origin header names another host. The session cookie is SameSite=Lax, so only pages of the
 * same site (another port, a sibling subdomain) could send one with it; Basic credentials the
 * browser keeps (typed into its dialog after a 401) go with a form posted from any site. Clients
 * other than browsers send no Origin; they pass, as do safe methods.
 */
export function refuseCrossOrigin(ctx: Context): void {
  const origin = ctx.get('origin');
  if (!origin || SAFE_METHODS.has(ctx.method)) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    // "null" (a sandboxed page) or not a URL: not this server.
  }
  // URL lower-cases the host; a Host header may not be.
  if (host !== ctx.host.toLowerCase()) {
    // Koa 3's ctx.origin is the Origin header; this server's own origin is built here.
    throw new ApiError(403, 'CROSS_ORIGIN_REQUEST', `A ${ctx.method} from ${origin} may not use this server's session or credentials (or log in): send it from ${ctx.protocol}://${ctx.host}.`);
  }
}

/** 401 (with WWW-Authenticate) for guests, 403 for authenticated callers. */
export function denied(ctx: Context, what: string): ApiError {
  return deniedTo(ctx.state.user, what);
}

function deniedTo(caller: Caller, what: string): ApiError {
  return caller.guest
    ? unauthorized(`Authentication is required to ${what}.`)
    : new ApiError(403, 'FORBIDDEN', `User "${caller.keyname}" may not ${what}.`);
}

/** For management endpoints (cache, pool, plugins, monitor, farm, users and groups). */
export function requireAdministrator(ctx: Context): Caller {
  if (!ctx.state.user.administrator) throw denied(ctx, 'use this endpoint (administrators only)');
  return ctx.state.user;
}

export function authorizeBy(policy: AccessPolicy): Authorize {
  return (caller, entry, permission) => {
    if (!policy.allows(caller, entry, permission)) throw deniedTo(caller, `access resource ${entry.id} (needs ${permission})`);
  };
}
