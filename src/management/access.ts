// Who may call the management API on the public port. The management port (127.0.0.1 only) needs no
// check, as in py-qgis-server; on the public port the caller must be an administrator.
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import type { Context } from 'koa';
import { requireAdministrator } from '../http/auth.js';

export type ManagementGuard = (ctx: Context) => void;

/** Public-port guard: administrators only (401 for a guest, 403 for another user). */
export const requireAdministratorOnPublicPort: ManagementGuard = (ctx) => { requireAdministrator(ctx); };

export const managementPortGuard: ManagementGuard = () => {};

/**
 * A router for a management area: the guard before any route. (Errors take py-qgis-server's shape
 * from the app: the management port's for every path, the public port's by path, app.ts.)
 */
export function managementRouter(guard: ManagementGuard): Router {
  const router = apiRouter();
  router.use(async (ctx, next) => { guard(ctx); await next(); });
  return router;
}
