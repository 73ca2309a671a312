// GET /: the built-in map viewer (built by viewer/build.mjs into dist/viewer), its static files, and the list of
// API features it can use on this server.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { send } from '@koa/send';
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import type { Context } from 'koa';
import { insideFolder, PathEscapeError } from '../common/paths.js';
import { ApiError } from '../http/errors.js';

/** Answers whether some router of the app handles `method path`. */
export type HasRoute = (method: string, path: string) => boolean;

/** A sample URL per optional feature: the viewer hides what this server does not (yet) serve. */
const FEATURE_PROBES: Record<string, [method: string, path: string]> = {
  mvt: ['GET', '/api/resource/1/0/0/0.mvt'],
  render: ['GET', '/api/component/render/tile'],
  identify: ['POST', '/api/feature_layer/identify'],
  auth: ['POST', '/api/component/auth/login'],
  cache: ['GET', '/cache/'],
  pool: ['GET', '/pool/'],
};

/** Asset names carry a content hash (or MapLibre's version), so they never change under one URL. */
const ASSET_MAX_AGE_MS = 365 * 24 * 3600 * 1000;

/** The package folder, found upwards from this module: it runs from src/ under tsx and from dist/src/ when built. */
function packageRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + import.meta.dirname);
    dir = up;
  }
  return dir;
}

export const VIEWER_DIR = join(packageRoot(), 'dist', 'viewer');

async function sendFile(ctx: Context, file: string, cache: { maxage?: number; immutable?: boolean }): Promise<void> {
  if (!existsSync(join(VIEWER_DIR, 'index.html'))) {
    throw new ApiError(503, 'VIEWER_NOT_BUILT', 'The map viewer has not been built; run "npm run build".');
  }
  ctx.vary('Accept-Encoding');
  try {
    // @koa/send resolves the path under root, refusing "..", absolute paths and hidden files, but
    // follows a link out of it: the file's real path must stay in the folder too.
    insideFolder(VIEWER_DIR, decodeURIComponent(file));
    await send(ctx, file, { root: VIEWER_DIR, ...cache });
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 404) throw new ApiError(404, 'NOT_FOUND', `No viewer file at ${ctx.path}.`);
    if (status === 400 || status === 403 || err instanceof PathEscapeError || err instanceof URIError) {
      throw new ApiError(400, 'INVALID_PATH', `"${ctx.path}" is not a viewer file path.`);
    }
    throw err;
  }
  if (ctx.body === undefined) throw new ApiError(404, 'NOT_FOUND', `No viewer file at ${ctx.path}.`);
  if (ctx.fresh) {
    ctx.status = 304;
    ctx.body = null;
  }
}

export function viewerRoutes(hasRoute: HasRoute): Router {
  const router = apiRouter();

  // The page itself is revalidated on every load so a new build shows at once; the assets it names are immutable.
  router.get('/', (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    return sendFile(ctx, 'index.html', {});
  });

  router.get('/viewer/features.json', (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = Object.fromEntries(Object.entries(FEATURE_PROBES).map(([name, [method, path]]) => [name, hasRoute(method, path)]));
  });

  router.get('/viewer/*file', (ctx) => {
    // The raw path, not the router's decoded parameter: @koa/send decodes it once, then checks it.
    const file = ctx.path.slice('/viewer/'.length);
    if (file === 'index.html') return ctx.redirect('/');
    return sendFile(ctx, file, { maxage: ASSET_MAX_AGE_MS, immutable: true });
  });

  return router;
}
