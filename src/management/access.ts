// Who may call the management API on the public port. The management port (127.0.0.1 only) needs no
// check, as in py-qgis-server; on the public port the caller must be an administrator.
import Router from '@koa/router';
import type { Context } from 'koa';
import { ApiError } from '../http/errors.js';
import { managementErrors } from './errors.js';

export type ManagementGuard = (ctx: Context) => void;

/**
 * Public-port guard. Users do not exist yet (the auth issue brings them), so nobody is an administrator
 * and the public port refuses; once `requireAdministrator(ctx)` lands, it replaces this body.
 */
export const requireAdministratorOnPublicPort: ManagementGuard = () => {
  throw new ApiError(403, 'ADMINISTRATOR_REQUIRED', 'The management API requires an administrator; use the management port or sign in as an administrator.');
};

export const managementPortGuard: ManagementGuard = () => {};

/** A router for a management area: py-qgis-server error shape, then the guard, before any route. */
export function managementRouter(guard: ManagementGuard): Router {
  const router = new Router();
  router.use(managementErrors());
  router.use(async (ctx, next) => { guard(ctx); await next(); });
  return router;
}
