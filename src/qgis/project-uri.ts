// Project URIs: a path under the projects root without extension (`world`, `europe/rivers`), also
// accepted with a `file:` scheme or an explicit `.qgs`/`.qgz`. Nothing outside the root is reachable.
import { existsSync, statSync } from 'node:fs';
import { extname, isAbsolute, relative } from 'node:path';
import { insideFolder, PathEscapeError } from '../common/paths.js';
import { ApiError } from '../http/errors.js';

export interface ProjectRef {
  /** Canonical cache key: the path under the root, without extension when that alone finds the file. */
  key: string;
  filename: string;
}

/** A URI without extension finds `.qgs` first, as QGIS Server does, then `.qgz`. */
const EXTENSIONS = ['.qgs', '.qgz'];

function findFile(root: string, rel: string): string | undefined {
  const candidates = EXTENSIONS.includes(extname(rel).toLowerCase()) ? [rel] : EXTENSIONS.map((e) => rel + e);
  for (const c of candidates) {
    const full = insideFolder(root, c);
    if (existsSync(full) && statSync(full).isFile()) return full;
  }
  return undefined;
}

export function resolveProjectUri(root: string, uri: string): ProjectRef {
  let path = uri.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(path);
  if (scheme) {
    if (scheme[1].toLowerCase() !== 'file') throw new ApiError(400, 'UNSUPPORTED_SCHEME', `Project scheme "${scheme[1]}" is not supported; use a path or file:.`);
    // file:world, file:/world and file:///world all name `world` under the root.
    path = path.slice(scheme[0].length).replace(/^\/+/, '');
  }
  if (!path) throw new ApiError(400, 'MISSING_PROJECT', 'Missing project specification.');
  // An absolute path is accepted when it points inside the root.
  const rel = isAbsolute(path) ? relative(root, path) : path;
  let filename: string | undefined;
  try {
    filename = findFile(root, rel);
  } catch (e) {
    if (e instanceof PathEscapeError) throw new ApiError(403, 'OUTSIDE_PROJECTS_ROOT', `Project "${uri}" is outside the projects root.`);
    throw e;
  }
  if (!filename) throw new ApiError(404, 'PROJECT_NOT_FOUND', `Project "${uri}" does not exist.`);
  const withExt = relative(root, filename);
  const bare = withExt.slice(0, -extname(withExt).length);
  return { key: findFile(root, bare) === filename ? bare : withExt, filename };
}
