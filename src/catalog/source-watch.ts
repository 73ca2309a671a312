// Reloads file layers (feature and raster) whose sources change on disk while the server runs.
// Sources are polled (a stat of each file, every `intervalMs`) rather than watched with fs.watch:
// editors and GIS tools often write a new file and rename it over the old one, which an inotify
// watch on the old file never hears. The stats run off the event loop, one poll at a time. A stamp
// other than the one the catalog took as it last read the source (Catalog.lastReadStamp: a change
// during a read is a change) must hold for one more poll before the layer is read again (see
// store/settled-change.ts); a source that cannot be read then (or still changes under the reader)
// leaves the layer's current data serving, and the next change is tried again.
// Layers reload one at a time: a deploy that replaces many files does not parse them all at once,
// each beside its old data.
import type { Logger } from 'pino';
import { SettledChange } from '../store/settled-change.js';
import type { Catalog } from './catalog.js';
import { RESOURCE_CLASSES } from './classes.js';

interface Watched {
  change: SettledChange;
  /** A reload is queued or under way. */
  reloading: boolean;
}

export interface SourceWatch {
  /** Stops polling; a reload under way finishes reading but no longer replaces the layer's data. */
  stop(): void;
}

export function watchFileLayers(catalog: Catalog, intervalMs: number, log: Logger): SourceWatch {
  const watched = new Map<number, Watched>();
  for (const e of catalog.resources.values()) {
    if (RESOURCE_CLASSES[e.cls].storage === 'file' || RESOURCE_CLASSES[e.cls].rasterLayer) watched.set(e.id, { change: new SettledChange(), reloading: false });
  }
  const stopping = new AbortController();
  let reloads = Promise.resolve();
  let polling = false;

  const check = async (id: number, w: Watched) => {
    if (w.reloading || catalog.layerState(id)?.status === 'loading') return;
    const stamp = await catalog.currentStampAsync(id);
    if (!w.change.check(stamp, catalog.lastReadStamp(id)) || stopping.signal.aborted) return;
    w.reloading = true;
    reloads = reloads.then(() => catalog.reloadFile(id, log, stopping.signal)).finally(() => { w.reloading = false; });
  };
  // Layer after layer: the stats share libuv's few threads with every other file read.
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      for (const [id, w] of watched) await check(id, w);
    } catch (err) {
      log.error({ err }, 'source check failed');
    } finally {
      polling = false;
    }
  };
  const timer = intervalMs > 0 && watched.size ? setInterval(poll, intervalMs).unref() : undefined;
  return {
    stop() {
      clearInterval(timer);
      stopping.abort();
    },
  };
}
