// Reloads file layers whose sources change on disk while the server runs. Sources are polled (a
// stat of each file, every `intervalMs`) rather than watched with fs.watch: editors and GIS tools
// often write a new file and rename it over the old one, which an inotify watch on the old file
// never hears, and a handful of stats per interval costs nothing. A changed stamp must hold for
// one more interval before the layer is read again, so a file still being written is not read
// half-way; a source that cannot be read then (or still changes under the reader) leaves the
// layer's current data serving, and the next change is tried again.
import type { Logger } from 'pino';
import type { Catalog } from './catalog.js';
import { RESOURCE_CLASSES } from './classes.js';
import { sourceStamp } from './source-files.js';

interface Watched {
  /** Stamp of the source the current data was read from (or last tried). */
  loaded: string;
  /** Stamp seen at the last poll. */
  seen: string;
  reloading: Promise<void> | null;
}

export interface SourceWatch {
  /** Stops polling; resolves once reloads in flight have ended. */
  stop(): Promise<void>;
}

export function watchFileLayers(catalog: Catalog, intervalMs: number, log: Logger): SourceWatch {
  const watched = new Map<number, Watched>();
  // Stamps taken now, as the first loads start: a change during a first load is a change.
  for (const e of catalog.resources.values()) {
    if (RESOURCE_CLASSES[e.cls].storage !== 'file') continue;
    const stamp = sourceStamp(catalog, e.id);
    watched.set(e.id, { loaded: stamp, seen: stamp, reloading: null });
  }
  const poll = () => {
    for (const [id, w] of watched) {
      if (w.reloading || catalog.layerState(id)?.status === 'loading') continue;
      const stamp = sourceStamp(catalog, id);
      const settled = stamp === w.seen;
      w.seen = stamp;
      if (stamp === w.loaded || !settled) continue;
      w.loaded = stamp;
      w.reloading = catalog.reloadFile(id, log).finally(() => { w.reloading = null; });
    }
  };
  const timer = intervalMs > 0 ? setInterval(poll, intervalMs).unref() : undefined;
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...watched.values()].map((w) => w.reloading));
    },
  };
}
