// The fingerprints of a catalog resource's source files (see store/source-files.ts): 'none' for a
// stamp and 'database' for a digest when the resource reads no file (a PostGIS layer, whose data
// every instance reads alike).
import { insideFolder } from '../common/paths.js';
import { sourceDigest as digestOf, sourceStamp as stampOf, sourceStampAsync as stampOfAsync } from '../store/source-files.js';
import type { Catalog } from './catalog.js';

function sourcePath(catalog: Catalog, id: number): string | undefined {
  const source = catalog.get(id)?.source;
  return source ? insideFolder(catalog.dataDir, source) : undefined;
}

export function sourceStamp(catalog: Catalog, id: number): string {
  const path = sourcePath(catalog, id);
  return path ? stampOf(path) : 'none';
}

export async function sourceStampAsync(catalog: Catalog, id: number): Promise<string> {
  const path = sourcePath(catalog, id);
  return path ? stampOfAsync(path) : 'none';
}

export async function sourceDigest(catalog: Catalog, id: number): Promise<string> {
  const path = sourcePath(catalog, id);
  return path ? digestOf(path) : 'database';
}
