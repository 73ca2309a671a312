// Fingerprints of the layers' data. The tile store (this machine's disk) keeps a layer's tiles
// across restarts when its source file has the size and modification time it had when they were
// stored, and drops them for a changed source or data replaced while running: a stat, taken before
// any tile is read. The shared tile cache (Redis, several machines) keys tiles by a digest of the
// source's content instead, since copies of one file differ in modification time.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import { insideFolder } from '../common/paths.js';
import type { TileStore } from './store.js';

function sourceStamp(catalog: Catalog, id: number): string {
  const source = catalog.get(id)?.source;
  if (!source) return 'none';
  try {
    const s = statSync(insideFolder(catalog.dataDir, source));
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

export function watchLayerSources(catalog: Catalog, store: TileStore, log: Logger): void {
  const loaded = new Set<number>();
  catalog.onLayerChange((id) => {
    const firstLoad = !loaded.has(id);
    loaded.add(id);
    const styles = catalog.childrenOf(id).filter((c) => catalog.classOf(c).styles).map((c) => c.id);
    store.layerChanged(id, sourceStamp(catalog, id), firstLoad, styles)
      .catch((e) => log.error({ layer: id, error: (e as Error).message }, 'tile store invalidation failed'));
  });
}

/**
 * A digest of the data a layer was loaded from: its source file and the files beside it that share
 * its name (a shapefile's .dbf, .shx, .prj), read through; 'database' for a layer in PostgreSQL,
 * whose data every instance reads alike. Unlike `sourceStamp` it is the same for copies of one file
 * on several machines, and differs for any edit.
 */
export async function sourceDigest(catalog: Catalog, id: number): Promise<string> {
  const source = catalog.get(id)?.source;
  if (!source) return 'database';
  const path = insideFolder(catalog.dataDir, source);
  const stem = basename(path, extname(path)) + '.';
  const names = (await readdir(dirname(path))).filter((n) => n.startsWith(stem)).sort();
  const hash = createHash('sha1');
  for (const name of names) {
    hash.update(`${name}\n`);
    for await (const chunk of createReadStream(join(dirname(path), name))) hash.update(chunk as Buffer);
  }
  return hash.digest('hex').slice(0, 16);
}
