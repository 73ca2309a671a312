// The management API answers errors as py-qgis-server does: {"status": "error", "httpcode", "error": {"message"}}.
import type { Context, Next } from 'koa';
import type { ErrorFormat } from '../http/errors.js';

export const managementErrorFormat: ErrorFormat = (e) => ({
  status: 'error',
  httpcode: e.status,
  error: { message: e.message },
});

/** Marks the request as a management one, so errors take py-qgis-server's shape. */
export function managementErrors() {
  return async (ctx: Context, next: Next) => {
    ctx.state.errorFormat = managementErrorFormat;
    await next();
  };
}
