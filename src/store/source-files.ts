// Fingerprints of the files a layer is read from. A stamp (size and modification time of each, a
// stat) tells this machine that a source changed: layers are read again, the tile store drops
// tiles kept across a restart. A digest of their content tells instances on several machines
// apart (copies of one file differ in modification time): the shared tile cache keys by it, and
// keeps it by path and stamp, so that a start with unchanged files reads none of them for it.
import { createHash } from 'node:crypto';
import { createReadStream, statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';

/** What the Shapefile reader takes beside a .shp, in either case (an attribute edit rewrites the .dbf alone). */
const SHAPEFILE_SIDECARS = ['.dbf', '.prj', '.cpg'];

/**
 * The files a source at `path` is read from, whether there or not: the source, a Shapefile's
 * sidecars, a GeoPackage's write-ahead log (edits made in WAL mode, as QGIS makes them, stay there
 * until a checkpoint). Named, not listed from the folder: a check costs a few stats.
 */
function sourceFiles(path: string): string[] {
  const ext = extname(path).toLowerCase();
  if (ext === '.gpkg') return [path, `${path}-wal`];
  if (ext !== '.shp') return [path];
  const base = path.slice(0, -ext.length);
  return [path, ...SHAPEFILE_SIDECARS.flatMap((e) => [base + e, base + e.toUpperCase()])];
}

function statNow(file: string): Stats | undefined {
  try { return statSync(file); } catch { return undefined; }
}

/** One file's stamp, `size:mtime` (as tile stores before sidecars kept it; a raster's version too). */
export function fileStamp({ size, mtimeMs }: Pick<Stats, 'size' | 'mtimeMs'>): string {
  return `${size}:${mtimeMs}`;
}

/**
 * One stamp per file, in the files' order. An empty sidecar counts as missing: reading a GeoPackage
 * in WAL mode leaves an empty -wal behind, which is no change of its data.
 */
function stampOf(stats: (Stats | undefined)[]): string {
  return stats.map((s, i) => (s && (i === 0 || s.size > 0) ? fileStamp(s) : 'missing')).join(',');
}

/** Size and modification time of each file of the source at `path` ('missing' for one not there). */
export function sourceStamp(path: string): string {
  return stampOf(sourceFiles(path).map(statNow));
}

/** The same, without blocking the event loop (sources are checked every few seconds). */
export async function sourceStampAsync(path: string): Promise<string> {
  return stampOf(await Promise.all(sourceFiles(path).map((file) => stat(file).catch(() => undefined))));
}

/** A digest of the names and content of the source's files that are there (empty sidecars left out, as in stamps). */
export async function contentDigest(path: string): Promise<string> {
  const hash = createHash('sha1');
  for (const [i, file] of sourceFiles(path).entries()) {
    const found = statNow(file);
    if (!found || (i > 0 && found.size === 0)) continue;
    hash.update(`${basename(file)}\n`);
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Digests kept across restarts, by source path and stamp (see tiles/redis-cache.ts). */
export interface DigestStore {
  /** The digest kept for the source at `path` with `stamp`; undefined when there is none (or it cannot be asked). */
  storedDigest(path: string, stamp: string): Promise<string | undefined>;
  storeDigest(path: string, stamp: string, digest: string): void;
}

/**
 * The content digest of the source at `path`: the one `stored` keeps for its stamp, else read and
 * kept there. The stamp stands for the content, as rsync's quick check takes size and modification
 * time for it: a copy whose stamp is another's without its content would need its time set so.
 */
export async function sourceDigest(path: string, stored: DigestStore): Promise<string> {
  const stamp = await sourceStampAsync(path);
  const known = await stored.storedDigest(path, stamp);
  if (known !== undefined) return known;
  const digest = await contentDigest(path);
  // Kept only for files that did not change while read.
  if (await sourceStampAsync(path) === stamp) stored.storeDigest(path, stamp, digest);
  return digest;
}
