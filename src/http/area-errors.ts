// Each API area answers errors in the shape of the contract it follows (NextGIS Web's unless it
// says otherwise), chosen from the path before anything can fail: wrong Basic credentials are
// refused before any router runs, so a router cannot be the one to choose.
import type { Context, Next } from 'koa';
import type { ErrorFormat } from './errors.js';

export interface ErrorArea {
  /** The area's paths: these prefixes, each as a whole segment. */
  prefixes: readonly string[];
  format: ErrorFormat;
}

/** Whether `path` is `prefix` or lies below it (a whole segment, not `/poolside` for `/pool`). */
export const underPath = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

export function areaErrorFormats(areas: readonly ErrorArea[]) {
  // Not async: most requests pass through with a few prefix tests.
  return (ctx: Context, next: Next) => {
    const area = areas.find((a) => a.prefixes.some((p) => underPath(ctx.path, p)));
    if (area) ctx.state.errorFormat = area.format;
    return next();
  };
}
