// Who may use the monitoring API and /metrics, and which methods it accepts.
import type { Context, Next } from 'koa';
import type { Config } from '../config.js';
import { underPath } from '../http/area-errors.js';
import { requireAdministrator } from '../http/auth.js';
import { ApiError } from '../http/errors.js';

const WRITES = new Set(['DELETE', 'POST', 'PATCH']);
/** API versions served (GET {monitorPath}/). */
export const VERSIONS = [1];

/**
 * Everything under the monitoring path (its errors in nginx's shape: app.ts) needs an
 * administrator unless public, refuses writes unless enabled (nginx's `api write=on`) and knows
 * only API version 1. Writes need an administrator even when reads are public: they reset the
 * counters and edit the denylist (anyone could lock an administrator's address out).
 */
export function monitorScope(config: Config) {
  const prefix = config.monitorPath;
  // Not async: other paths pass through with one prefix test.
  return (ctx: Context, next: Next) => {
    const inApi = underPath(ctx.path, prefix);
    // The route takes /metrics with or without a trailing slash: so does this test.
    if (!inApi && ctx.path !== '/metrics' && ctx.path !== '/metrics/') return next();
    if (!config.monitorPublic) requireAdministrator(ctx);
    if (inApi) {
      const version = ctx.path.slice(prefix.length + 1).split('/')[0];
      if (version && !VERSIONS.includes(Number(version))) throw new ApiError(404, 'UnknownVersion', `API version "${version}" is not supported; see ${prefix}/.`);
      if (WRITES.has(ctx.method)) {
        if (!config.monitorWrite) throw new ApiError(405, 'MethodDisabled', `${ctx.method} is disabled: set MERIDIAN_MONITOR_WRITE=1 or "monitorWrite": true to allow writes.`);
        requireAdministrator(ctx);
      }
    }
    return next();
  };
}
