// /farm/api/v3/projects (QGIS projects as Flamenco projects), settings (run-time settings, where the
// tile store is) and browse (files and folders under the data directory, nothing outside it).
import { createHash } from 'node:crypto';
import { lstat, readdir, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import type Router from '@koa/router';
import { bodyObject, readJson } from '../../http/body.js';
import { ApiError } from '../../http/errors.js';
import { insideFolder } from '../../common/paths.js';
import type { Services } from '../../services.js';
import { TILE_FORMATS } from '../../tiles/store.js';
import { notFound, type Farm } from '../farm.js';
import { farmRouter } from './router.js';

const PROJECT_EXTENSIONS = new Set(['.qgs', '.qgz']);

/** Projects' ids are short hashes of their path under the root: stable, and safe in a URL. */
const projectId = (path: string) => createHash('sha1').update(path).digest('hex').slice(0, 12);

async function entryOf(full: string, name: string) {
  const s = await stat(full);
  return { name, type: s.isDirectory() ? 'folder' : 'file', size: s.isDirectory() ? null : s.size, modified: s.mtime.toISOString() };
}

export function infoRoutes(services: Services, farm: Farm): Router {
  const router = farmRouter();
  const { config, tileStore } = services;

  async function projects() {
    const found = await readdir(config.projectsDir, { recursive: true, withFileTypes: true }).catch(() => []);
    const paths = found.filter((e) => e.isFile() && PROJECT_EXTENSIONS.has(extname(e.name).toLowerCase()))
      .map((e) => relative(config.projectsDir, join(e.parentPath, e.name)));
    const listed = new Set(paths);
    return paths.map((path) => {
      // Named as MAP= and the cache name it (project-uri.ts: a name without extension finds .qgs, then .qgz).
      const bare = path.slice(0, -extname(path).length);
      const plain = !PROJECT_EXTENSIONS.has(extname(bare).toLowerCase());
      const key = plain && (path === `${bare}.qgs` || (path === `${bare}.qgz` && !listed.has(`${bare}.qgs`))) ? bare : path;
      return {
        id: projectId(path), name: key, path_server: join(config.projectsDir, path),
        // Loaded (cached) projects are the active ones; rendered tiles of any project land in the store's PNG folder.
        is_active: services.projects.list().some((p) => p.key === key),
        render_path_server: join(tileStore.root, 'png'),
      };
    }).sort((a, b) => a.name.localeCompare(b.name));
  }

  router.get('/projects', async (ctx) => {
    ctx.body = { projects: await projects() };
  });

  router.get('/projects/:id', async (ctx) => {
    const project = (await projects()).find((p) => p.id === ctx.params.id);
    if (!project) throw notFound('project', ctx.params.id);
    ctx.body = project;
  });

  router.get('/settings', (ctx) => {
    ctx.body = farm.settings.get();
  });

  router.post('/settings', readJson, async (ctx) => {
    await farm.settings.update(bodyObject(ctx));
    ctx.status = 204;
  });

  router.get('/settings/render', (ctx) => {
    const stats = tileStore.stats();
    ctx.body = {
      tile_store: tileStore.root,
      layout: '{format}/{resource set}/{z}/{x}/{y}.{ext}',
      formats: Object.fromEntries(Object.keys(TILE_FORMATS).map((f) => [f, join(tileStore.root, f)])),
      entries: stats.entries, bytes: stats.bytes, max_bytes: stats.maxBytes, writes: stats.writes,
    };
  });

  async function browse(path: string) {
    if (path.startsWith('/') || path.split('/').includes('..')) throw new ApiError(400, 'INVALID_PATH', `Path "${path}" must be relative to the data directory, without "..".`);
    let full: string;
    try { full = insideFolder(config.dataDir, path); } catch (e) { throw new ApiError(400, 'INVALID_PATH', (e as Error).message); }
    const entry = await entryOf(full, path === '' ? '.' : path).catch(() => { throw notFound('file or folder', path); });
    if (entry.type === 'file') return entry;
    const names = (await readdir(full)).sort();
    const entries = await Promise.all(names.map((n) => listed(full, join(path, n), n)));
    return { ...entry, entries: entries.filter((e) => e !== undefined) };
  }

  /** A folder's entry, unless it is a link leading outside the data directory, or to nothing. */
  async function listed(folder: string, path: string, name: string) {
    const full = join(folder, name);
    try {
      if ((await lstat(full)).isSymbolicLink()) insideFolder(config.dataDir, path);
      return await entryOf(full, name);
    } catch {
      return undefined;
    }
  }

  router.get('/browse', async (ctx) => {
    ctx.body = await browse('');
  });

  router.get('/browse/*path', async (ctx) => {
    const path: string | string[] = ctx.params.path;
    ctx.body = await browse(Array.isArray(path) ? path.join('/') : path);
  });

  return router;
}
