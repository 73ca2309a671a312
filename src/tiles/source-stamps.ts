// The tile store keeps a layer's tiles across restarts while its source files keep the stamp they
// had when the tiles were stored (see store/source-files.ts), and drops them for a changed source
// or data replaced while running. The stamp is the one the layer's data was read from, recorded
// when that data is set, before any tile of it is read.
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { TileStore } from './store.js';

export function watchLayerSources(catalog: Catalog, store: TileStore, log: Logger): void {
  const loaded = new Set<number>();
  catalog.onLayerChange((id) => {
    const firstLoad = !loaded.has(id);
    loaded.add(id);
    const styles = catalog.childrenOf(id).filter((c) => catalog.classOf(c).styles).map((c) => c.id);
    store.layerChanged(id, catalog.loadedStamp(id), firstLoad, styles)
      .catch((e) => log.error({ layer: id, error: (e as Error).message }, 'tile store invalidation failed'));
  });
}
