// The resource tree from catalog.json: validated at start, with each feature layer's load state.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { insideFolder, PathEscapeError } from '../common/paths.js';
import { loadLayer, type SourceOptions } from '../store/open.js';
import { sourceDigest, sourceStamp, sourceStampAsync, type DigestStore } from '../store/source-files.js';
import { ApiError } from '../http/errors.js';
import { databaseUnavailable, isUnavailable, type DatabaseConnections } from '../store/postgis/connections.js';
import { PostgisLayer } from '../store/postgis/postgis-layer.js';
import type { FeatureLayer } from '../store/types.js';
import { RESOURCE_CLASSES, type ResourceClass } from './classes.js';
import { postgisSource } from './postgis-entry.js';
import type { ResourceEntry } from './types.js';

/** Start-up must stop: the catalog itself is wrong. The message names the entry. */
export class CatalogError extends Error {}

export const ROOT_ID = 0;

/** A PostGIS layer whose database could not be reached at start is tried again this often. */
const RETRY_OPEN_MS = 5000;

export type LayerState =
  | { status: 'loading'; ready: Promise<void> }
  | { status: 'ready'; layer: FeatureLayer }
  /** `code`: the ApiError code requests get (default LAYER_UNAVAILABLE). */
  | { status: 'error'; error: string; code?: string };

export class Catalog {
  readonly resources = new Map<number, ResourceEntry>();
  private readonly children = new Map<number, number[]>();
  private readonly layers = new Map<number, LayerState>();
  private readonly layerListeners: ((id: number) => void)[] = [];
  /** Layer id → stamp of the source files its current data was read from, taken before reading. */
  private readonly stamps = new Map<number, string>();
  /** Layer id → stamp of its source files as the last read of them began, whatever came of it. */
  private readonly readStamps = new Map<number, string>();

  /** `rootPermissions`: the root's ACL from catalog.json's top-level "permissions" (checked by auth/policy.ts). */
  constructor(entries: ResourceEntry[], readonly dataDir: string, readonly stylesDir: string, rootPermissions?: unknown) {
    this.add({ id: ROOT_ID, cls: 'resource_group', parent: null, display_name: 'Main resource group', permissions: rootPermissions });
    for (const e of entries) this.add(e);
    for (const e of entries) this.link(e);
  }

  static read(dataDir: string, stylesDir: string): Catalog {
    const file = join(dataDir, 'catalog.json');
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch { throw new CatalogError(`${file}: cannot be read`); }
    let doc: { resources?: unknown; permissions?: unknown };
    try { doc = JSON.parse(text); } catch (e) { throw new CatalogError(`${file}: not valid JSON (${(e as Error).message})`); }
    if (!doc || !Array.isArray(doc.resources)) throw new CatalogError(`${file}: must be {"resources": [...]}`);
    return new Catalog(doc.resources as ResourceEntry[], dataDir, stylesDir, doc.permissions);
  }

  private add(e: ResourceEntry): void {
    const name = `resource ${JSON.stringify(e?.id ?? e)}`;
    if (!e || typeof e !== 'object' || !Number.isSafeInteger(e.id) || e.id < 0) throw new CatalogError(`${name}: "id" must be a non-negative integer`);
    if (this.resources.has(e.id)) throw new CatalogError(`resource ${e.id}: duplicate id`);
    const cls = RESOURCE_CLASSES[e.cls];
    if (!cls) throw new CatalogError(`resource ${e.id}: unknown cls "${e.cls}"`);
    if (typeof e.display_name !== 'string' || !e.display_name) throw new CatalogError(`resource ${e.id}: "display_name" is required`);
    if (e.keyname != null) {
      if (typeof e.keyname !== 'string' || !/^[A-Za-z][\w-]*$/.test(e.keyname)) throw new CatalogError(`resource ${e.id}: keyname "${e.keyname}" is not a valid identifier`);
      for (const other of this.resources.values()) {
        if (other.keyname === e.keyname) throw new CatalogError(`resource ${e.id}: keyname "${e.keyname}" is already used by resource ${other.id}`);
      }
    }
    const paths: [keyof ResourceEntry, string][] = [];
    const hasSource = cls.storage === 'file' || cls.rasterLayer;
    if (hasSource && e.source !== undefined) paths.push(['source', this.dataDir]);
    if (cls.style && e.qml !== undefined) paths.push(['qml', this.stylesDir]);
    for (const [key, dir] of paths) {
      if (typeof e[key] !== 'string') throw new CatalogError(`resource ${e.id}: "${String(key)}" must be a file name`);
      try { insideFolder(dir, e[key] as string); } catch (err) {
        if (err instanceof PathEscapeError) throw new CatalogError(`resource ${e.id}: ${String(key)} ${err.message}`);
        throw err;
      }
    }
    if (cls.storage === 'postgis') {
      try { postgisSource(e); } catch (err) { throw new CatalogError(`resource ${e.id}: ${(err as Error).message}`); }
    }
    if (cls.qgisProject && (typeof e.project !== 'string' || !e.project.trim())) {
      throw new CatalogError(`resource ${e.id}: a ${e.cls} needs a "project" (its URI under the projects root)`);
    }
    if (hasSource && typeof e.source !== 'string') throw new CatalogError(`resource ${e.id}: a ${e.cls} needs a "source"`);
    if (cls.styles === 'featureLayer' && typeof e.qml !== 'string' && (typeof e.style !== 'object' || e.style === null)) {
      throw new CatalogError(`resource ${e.id}: a ${e.cls} needs a "qml" file or a JSON "style"`);
    }
    this.resources.set(e.id, { ...e, parent: e.id === ROOT_ID ? null : e.parent ?? ROOT_ID });
  }

  private link(e: ResourceEntry): void {
    const parent = e.parent ?? ROOT_ID;
    if (parent === e.id) throw new CatalogError(`resource ${e.id}: cannot be its own parent`);
    const p = this.resources.get(parent);
    if (!p) throw new CatalogError(`resource ${e.id}: unknown parent ${parent}`);
    const styles = RESOURCE_CLASSES[e.cls].styles;
    if (styles && !RESOURCE_CLASSES[p.cls][styles]) {
      throw new CatalogError(`resource ${e.id}: a style's parent must be a layer (${styles === 'rasterLayer' ? 'raster_layer' : 'vector_layer'}), ${parent} is a ${p.cls}`);
    }
    if (!RESOURCE_CLASSES[e.cls].style && p.cls !== 'resource_group') {
      throw new CatalogError(`resource ${e.id}: parent ${parent} is a ${p.cls}, not a resource_group`);
    }
    const list = this.children.get(parent) ?? [];
    list.push(e.id);
    this.children.set(parent, list);
  }

  get(id: number): ResourceEntry | undefined {
    return this.resources.get(id);
  }

  classOf(entry: ResourceEntry): ResourceClass {
    return RESOURCE_CLASSES[entry.cls];
  }

  childrenOf(id: number): ResourceEntry[] {
    return (this.children.get(id) ?? []).map((c) => this.resources.get(c)!);
  }

  /** The resource and every resource under it, parents before children; none for an unknown id. */
  subtreeOf(id: number): ResourceEntry[] {
    const root = this.resources.get(id);
    const out = root ? [root] : [];
    for (let i = 0; i < out.length; i++) out.push(...this.childrenOf(out[i].id));
    return out;
  }

  /** Ancestors from the parent up to the root. */
  ancestorsOf(id: number): ResourceEntry[] {
    const out: ResourceEntry[] = [];
    for (let p = this.resources.get(id)?.parent; p != null; p = this.resources.get(p)?.parent) out.push(this.resources.get(p)!);
    return out;
  }

  layerState(id: number): LayerState | undefined {
    return this.layers.get(id);
  }

  /** Calls `listener` with a layer's id each time its data becomes ready or is replaced (caches drop what they derived). */
  onLayerChange(listener: (id: number) => void): void {
    this.layerListeners.push(listener);
  }

  /**
   * Makes `layer` the data of resource `id` (after loading, or when the data changes), read from
   * source files with `stamp` (taken before reading; by default, now).
   */
  setLayer(id: number, layer: FeatureLayer, stamp = this.currentStamp(id)): void {
    this.layers.set(id, { status: 'ready', layer });
    this.changed(id, stamp);
  }

  /**
   * The stamp of the source files layer `id`'s current data was read from (see store/source-files.ts;
   * 'none' for a layer read from no file). A fingerprint taken after a load would name a file
   * changed during it.
   */
  loadedStamp(id: number): string {
    return this.stamps.get(id) ?? this.currentStamp(id);
  }

  /**
   * The stamp of file or raster layer `id`'s source files as its last read began, whether that read
   * succeeded or not (a raster layer's: as its listeners last heard of it); undefined before the first.
   * A source that changed since is one to read again (see source-watch.ts).
   */
  lastReadStamp(id: number): string | undefined {
    return this.readStamps.get(id);
  }

  /** The stamp of resource `id`'s source files now, taken as a read of them begins. */
  private stampBeforeRead(id: number): string {
    const stamp = this.currentStamp(id);
    this.readStamps.set(id, stamp);
    return stamp;
  }

  /** The stamp of resource `id`'s source files now. */
  currentStamp(id: number): string {
    const path = this.sourcePath(id);
    return path ? sourceStamp(path) : 'none';
  }

  /** The same, without blocking the event loop. */
  async currentStampAsync(id: number): Promise<string> {
    const path = this.sourcePath(id);
    return path ? sourceStampAsync(path) : 'none';
  }

  /**
   * A digest of resource `id`'s source files' content, the one `stored` keeps for files as they are
   * if it has one; 'database' for a layer in PostgreSQL, which every instance reads alike.
   */
  async sourceDigest(id: number, stored: DigestStore): Promise<string> {
    const path = this.sourcePath(id);
    return path ? sourceDigest(path, stored) : 'database';
  }

  private sourcePath(id: number): string | undefined {
    const source = this.resources.get(id)?.source;
    return source ? insideFolder(this.dataDir, source) : undefined;
  }

  /**
   * Starts loading every feature layer; a layer that fails is logged and kept in error state. A
   * raster layer's file is read when drawn: the listeners hear of it now, as of a loaded layer.
   */
  loadLayers(log: Logger, databases: DatabaseConnections): Promise<void> {
    const loads: Promise<void>[] = [];
    for (const e of this.resources.values()) {
      const { storage, rasterLayer } = RESOURCE_CLASSES[e.cls];
      if (storage === 'file') loads.push(this.loadFile(e, log));
      if (storage === 'postgis') loads.push(this.openPostgis(e, log, databases));
      if (rasterLayer) this.changed(e.id, this.stampBeforeRead(e.id));
    }
    return Promise.all(loads).then(() => undefined);
  }

  /**
   * Layer `id`'s data is now what its files held at `stamp`: the listeners hear of it. (A raster
   * layer's file is read when drawn: its stamp is the one as the listeners hear of it.)
   */
  private changed(id: number, stamp: string): void {
    this.stamps.set(id, stamp);
    for (const listener of this.layerListeners) listener(id);
  }

  private loadFile(e: ResourceEntry, log: Logger): Promise<void> {
    const stamp = this.stampBeforeRead(e.id);
    const ready = this.readFile(e, log)
      .then((layer) => this.setLayer(e.id, layer, stamp))
      .catch((err: Error) => {
        log.error({ resource: e.id, error: err.message }, 'layer unavailable');
        this.layers.set(e.id, { status: 'error', error: err.message });
      });
    this.layers.set(e.id, { status: 'loading', ready });
    return ready;
  }

  /**
   * Reads a file layer's source again (it changed on disk; a raster layer's is read when next
   * drawn). The layer answers from its current data until the new is built; a source that cannot
   * be read leaves that data in place, and so does a reload that ends after `cancel` aborts (the
   * server is stopping).
   */
  async reloadFile(id: number, log: Logger, cancel?: AbortSignal): Promise<void> {
    const e = this.resources.get(id);
    if (!e || cancel?.aborted) return;
    if (RESOURCE_CLASSES[e.cls].rasterLayer) {
      // Read again when next drawn; what was drawn from it goes.
      log.info({ resource: id, source: e.source }, 'raster source changed');
      this.changed(id, this.stampBeforeRead(id));
      return;
    }
    if (RESOURCE_CLASSES[e.cls].storage !== 'file') return;
    const started = Date.now();
    log.info({ resource: id, source: e.source }, 'layer source changed; reloading');
    const stamp = this.stampBeforeRead(id);
    try {
      const layer = await this.readFile(e, log);
      if (cancel?.aborted) return;
      this.setLayer(id, layer, stamp);
      log.info({ resource: id, ms: Date.now() - started }, 'layer reloaded');
    } catch (err) {
      const error = (err as Error).message;
      if (this.layers.get(id)?.status === 'ready') {
        log.warn({ resource: id, error }, 'layer source cannot be loaded; its previous data stays');
      } else {
        log.error({ resource: id, error }, 'layer unavailable');
        this.layers.set(id, { status: 'error', error });
      }
    }
  }

  /** Loads a file layer; rejects with a message fit for clients. */
  private readFile(e: ResourceEntry, log: Logger): Promise<FeatureLayer> {
    const { source, ...rest } = e;
    return loadLayer(insideFolder(this.dataDir, source!), rest as SourceOptions, `${e.id}:${e.display_name}`, log)
      .catch((err: NodeJS.ErrnoException) => {
        // Messages reach clients: name the source as the catalog does, never the absolute path.
        throw new Error(err.code === 'ENOENT' ? `source file "${source}" does not exist`
          : err.syscall ? `source file "${source}" cannot be read (${err.code})` : `${source}: ${err.message}`);
      });
  }

  /**
   * Reads the table's structure. A database that cannot be reached leaves the layer answering 503
   * DATABASE_UNAVAILABLE, a read past the statement bound 503 QUERY_TIMEOUT, and either is tried
   * again until it answers; a wrong table or column is final.
   */
  private openPostgis(e: ResourceEntry, log: Logger, databases: DatabaseConnections): Promise<void> {
    const source = postgisSource(e);
    const name = `resource ${e.id}`;
    const attempt = (): Promise<void> => {
      if (!databases.has(source.connection)) {
        const error = `database connection "${source.connection}" is not configured`;
        log.error({ resource: e.id, error }, 'layer unavailable');
        this.layers.set(e.id, { status: 'error', error });
        return Promise.resolve();
      }
      return PostgisLayer.open(databases.pool(source.connection), name, source)
        .then((layer) => this.setLayer(e.id, layer))
        .catch((err: Error) => {
          // A 503 says why (the database out of reach, or the structure's read past the statement
          // bound: a slow view, a lock) and is tried again; a wrong table or column is final.
          const retried = err instanceof ApiError && err.status === 503 ? err : isUnavailable(err) ? databaseUnavailable(name, err) : undefined;
          const error = retried?.code === 'QUERY_TIMEOUT' ? `reading its structure took too long (${err.message.replace(/\.$/, '')})`
            : retried ? 'its database cannot be reached' : `${source.schema}.${source.table}: ${err.message}`;
          log.error({ resource: e.id, error: err.message }, 'layer unavailable');
          this.layers.set(e.id, { status: 'error', error, code: retried?.code });
          if (retried && !databases.closed) setTimeout(() => { if (!databases.closed) void attempt(); }, RETRY_OPEN_MS).unref();
        });
    };
    const ready = attempt();
    this.layers.set(e.id, { status: 'loading', ready });
    return ready;
  }
}
