// A router for the farm API: under /farm/api/v3, administrators only, errors in Flamenco's shape
// ({"code": HTTP status, "message"}, plus Meridian's stable code as "error").
import type Router from '@koa/router';
import { apiRouter } from '../../http/router.js';
import type { Context, Next } from 'koa';
import { requireAdministrator } from '../../http/auth.js';
import type { ErrorArea } from '../../http/area-errors.js';
import type { ErrorFormat } from '../../http/errors.js';

export const FARM_PREFIX = '/farm/api/v3';

export const flamencoErrorFormat: ErrorFormat = (e) => ({ code: e.status, message: e.message, error: e.code });

/** Every answer under the prefix, an unknown path or method included, has Flamenco's error shape (app.ts). */
export const farmErrorArea: ErrorArea = { prefixes: [FARM_PREFIX], format: flamencoErrorFormat };

export function farmRouter(): Router {
  const router = apiRouter({ prefix: FARM_PREFIX });
  router.use(async (ctx: Context, next: Next) => {
    requireAdministrator(ctx);
    await next();
  });
  return router;
}
