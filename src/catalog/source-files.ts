// Fingerprints of the files a layer is loaded from. A stamp (size and modification time of each, a
// stat) tells this machine that a source changed: the source watcher reloads the layer, the tile
// store drops tiles kept across a restart. A digest of their content tells instances on several
// machines apart (copies of one file differ in modification time): the shared tile cache keys by it.
import { createHash } from 'node:crypto';
import { createReadStream, statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { insideFolder } from '../common/paths.js';
import type { Catalog } from './catalog.js';

/** What the Shapefile reader takes beside a .shp, in either case (an attribute edit rewrites the .dbf alone). */
const SHAPEFILE_SIDECARS = ['.dbf', '.prj', '.cpg'];

/**
 * The files resource `id` is read from, whether there or not: its source, a Shapefile's sidecars,
 * a GeoPackage's write-ahead log (edits made in WAL mode, as QGIS makes them, stay there until a
 * checkpoint). Named, not listed from the folder: a poll costs a few stats per layer.
 */
function sourceFiles(catalog: Catalog, id: number): string[] {
  const source = catalog.get(id)?.source;
  if (!source) return [];
  const path = insideFolder(catalog.dataDir, source);
  const ext = extname(path).toLowerCase();
  if (ext === '.gpkg') return [path, `${path}-wal`];
  if (ext !== '.shp') return [path];
  const base = path.slice(0, -ext.length);
  return [path, ...SHAPEFILE_SIDECARS.flatMap((e) => [base + e, base + e.toUpperCase()])];
}

function statNow(file: string): Stats | undefined {
  try { return statSync(file); } catch { return undefined; }
}

/** One stamp per file, in the files' order; a single file's is `size:mtime` (as tile stores before sidecars kept it). */
function stampOf(stats: (Stats | undefined)[]): string {
  return stats.length ? stats.map((s) => (s ? `${s.size}:${s.mtimeMs}` : 'missing')).join(',') : 'none';
}

/** Size and modification time of each source file ('missing' for one not there); 'none' without a file. */
export function sourceStamp(catalog: Catalog, id: number): string {
  return stampOf(sourceFiles(catalog, id).map(statNow));
}

/** The same, without blocking the event loop (the source watcher stats every layer every few seconds). */
export async function sourceStampAsync(catalog: Catalog, id: number): Promise<string> {
  return stampOf(await Promise.all(sourceFiles(catalog, id).map((file) => stat(file).catch(() => undefined))));
}

/** A digest of the source files' names and content; 'database' for a layer in PostgreSQL, which every instance reads alike. */
export async function sourceDigest(catalog: Catalog, id: number): Promise<string> {
  const files = sourceFiles(catalog, id);
  if (!files.length) return 'database';
  const hash = createHash('sha1');
  for (const file of files) {
    if (!statNow(file)) continue;
    hash.update(`${basename(file)}\n`);
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex').slice(0, 16);
}
