// Paths that come from configuration or clients, kept inside the folder they belong to.
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

export class PathEscapeError extends Error {}

/**
 * Resolves `rel` under `root`, refusing absolute paths, `..` escapes and symlinks that lead out.
 * The target need not exist yet; if it does, its real path must still be inside the real root.
 */
export function insideFolder(root: string, rel: string): string {
  if (isAbsolute(rel) || rel.includes('\0')) throw new PathEscapeError(`"${rel}" must be a relative path`);
  const base = resolve(root);
  const full = resolve(base, rel);
  const within = (r: string, p: string) => { const d = relative(r, p); return d === '' || (!d.startsWith('..' + sep) && d !== '..' && !isAbsolute(d)); };
  if (!within(base, full)) throw new PathEscapeError(`"${rel}" leads outside its folder`);
  let real: string;
  try { real = realpathSync(full); } catch { return full; }
  let realBase: string;
  try { realBase = realpathSync(base); } catch { realBase = base; }
  if (!within(realBase, real)) throw new PathEscapeError(`"${rel}" leads outside its folder`);
  return full;
}
