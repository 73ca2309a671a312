// Fingerprints of the files a layer is loaded from. A stamp (size and modification time of each, a
// stat) tells this machine that a source changed: the source watcher reloads the layer, the tile
// store drops tiles kept across a restart. A digest of their content tells instances on several
// machines apart (copies of one file differ in modification time): the shared tile cache keys by it.
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { insideFolder } from '../common/paths.js';
import type { Catalog } from './catalog.js';

/** A shapefile is read from these files beside its .shp (an attribute edit rewrites the .dbf alone). */
const SHAPEFILE_PARTS = new Set(['.shp', '.dbf', '.shx', '.prj', '.cpg']);

/** The files resource `id` is read from, sorted; none for a layer without a source file (PostGIS). */
export function sourceFiles(catalog: Catalog, id: number): string[] {
  const source = catalog.get(id)?.source;
  if (!source) return [];
  const path = insideFolder(catalog.dataDir, source);
  if (extname(path).toLowerCase() !== '.shp') return [path];
  const stem = basename(path, extname(path));
  let names: string[];
  try { names = readdirSync(dirname(path)); } catch { return [path]; }
  return names.filter((n) => extname(n) && basename(n, extname(n)) === stem && SHAPEFILE_PARTS.has(extname(n).toLowerCase()))
    .sort().map((n) => join(dirname(path), n));
}

/** Size and modification time of each source file ('missing' for one that is not there); 'none' without a file. */
export function sourceStamp(catalog: Catalog, id: number): string {
  const files = sourceFiles(catalog, id);
  if (!files.length) return 'none';
  return files.map((file) => {
    try {
      const s = statSync(file);
      return `${basename(file)}:${s.size}:${s.mtimeMs}`;
    } catch {
      return `${basename(file)}:missing`;
    }
  }).join(',');
}

/** A digest of the source files' names and content; 'database' for a layer in PostgreSQL, which every instance reads alike. */
export async function sourceDigest(catalog: Catalog, id: number): Promise<string> {
  const files = sourceFiles(catalog, id);
  if (!files.length) return 'database';
  const hash = createHash('sha1');
  for (const file of files) {
    hash.update(`${basename(file)}\n`);
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex').slice(0, 16);
}
