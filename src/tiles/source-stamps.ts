// Keeps the tile store in step with the layers' data: a layer loaded from an unchanged source file
// (same size and modification time as when its tiles were stored) keeps its tiles across restarts;
// a changed source, or data replaced while running, drops them.
import { statSync } from 'node:fs';
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
