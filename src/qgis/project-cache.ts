// The projects one thread holds in memory: loaded on demand, reloaded when the file changes on disk, when a
// layer's data file changed and has stopped changing (the same at two checks), or when a layer's database
// did not answer at the last load (checked at most every `checkInterval` seconds), bounded by LRU except
// for pinned (preloaded) ones.
// Every change bumps `generation`; pool workers mirror the main thread's cache through `state()`
// and `syncTo()`, so they all answer from the same project versions (see pool-task.ts).
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ApiError } from '../http/errors.js';
import { loadLayer } from '../store/open.js';
import type { DatabaseConnections } from '../store/postgis/connections.js';
import type { FeatureLayer } from '../store/types.js';
import { openPostgresLayer } from './postgres-layer.js';
import { SettledChange } from '../store/settled-change.js';
import { sourceStampAsync } from '../store/source-files.js';
import { readProject, type ProjectLayer, type QgisProject } from './project.js';
import { resolveProjectUri, type ProjectRef } from './project-uri.js';

export interface ProjectCacheOptions {
  root: string;
  /** Most projects held, pinned ones not counted. */
  size: number;
  /** Seconds between modification-time checks of a cached project; 0 checks on every use. */
  checkInterval: number;
  log: Logger;
  /**
   * Where `postgres` layers get their connection pools. Left out in pool workers, which mirror the
   * cache for the management API and never read features: they open no pools.
   */
  databases?: DatabaseConnections;
}

/** What a worker needs to hold the same projects, at the same versions, as the main thread. */
export interface CacheState {
  generation: number;
  entries: { key: string; filename: string; version: number; pinned: boolean }[];
}

export class CachedProject {
  private readonly layers = new Map<string, Promise<FeatureLayer>>();
  private readonly dataChange = new SettledChange();
  checkedAt = Date.now();

  constructor(
    readonly key: string,
    readonly project: QgisProject,
    public pinned: boolean,
    /** The cache generation that loaded it: a reload, even of an unchanged file, gives a new one. */
    readonly version: number,
    private readonly readers: Pick<ProjectCacheOptions, 'log' | 'databases'>,
    /**
     * Stamps of the layers' data files as this version was read (a data file may change alone, and
     * QGIS Server's providers see it at once); none in pool workers, which only mirror the cache.
     */
    readonly dataStamps: ReadonlyMap<string, string> = new Map(),
  ) {}

  /**
   * Whether a layer's data file changed since this version was read, and was the same at the previous
   * check (a file still being written is not read half-way: see store/settled-change.ts).
   */
  async dataChanged(): Promise<boolean> {
    const now = await Promise.all([...this.dataStamps.keys()].map(sourceStampAsync));
    return this.dataChange.check(now.join('|'), [...this.dataStamps.values()].join('|'));
  }

  /** A vector layer of the project as a feature layer, read once through Meridian's layer store. */
  featureLayer(layerId: string): Promise<FeatureLayer> {
    const layer = this.project.layers.find((l) => l.id === layerId);
    if (!layer) return Promise.reject(new ApiError(404, 'LAYER_NOT_FOUND', `Project "${this.key}" has no layer "${layerId}".`));
    let loading = this.layers.get(layerId);
    if (!loading) {
      loading = this.open(layer);
      this.layers.set(layerId, loading);
      // A failure is not cached: the file may be fixed without the project changing.
      loading.catch(() => this.layers.delete(layerId));
    }
    return loading;
  }

  private async open(layer: ProjectLayer): Promise<FeatureLayer> {
    if (!layer.valid) throw new ApiError(422, 'BAD_LAYER', `Layer "${layer.name}" of project "${this.key}" is a bad layer: ${layer.error}.`);
    const read = this.reader(layer);
    if (!read) throw new ApiError(422, 'LAYER_NOT_SUPPORTED', `Layer "${layer.name}" (${layer.type}, provider ${layer.provider}) cannot be read by Meridian.`);
    try {
      return await read();
    } catch (e) {
      // A 503 (its database cannot be reached) passes as it is: it says to try again.
      if (e instanceof ApiError) throw e;
      throw new ApiError(422, 'LAYER_NOT_SUPPORTED', `Layer "${layer.name}" of project "${this.key}" cannot be read: ${(e as Error).message}.`);
    }
  }

  /** How the layer store reads a vector layer: its file, or its PostGIS table; undefined when it cannot. */
  private reader(layer: ProjectLayer): (() => Promise<FeatureLayer>) | undefined {
    if (layer.type !== 'vector') return undefined;
    const { path, options } = layer.source;
    if (path) return () => loadLayer(path, options, `${this.key}:${layer.name}`, this.readers.log);
    const { databases } = this.readers;
    if (layer.provider === 'postgres' && databases) {
      return () => openPostgresLayer(layer.datasource, databases, `layer "${layer.name}" of project "${this.key}"`);
    }
    return undefined;
  }
}

/** Stamps of a project's layers' data files, each file once, taken off the event loop. */
async function dataStamps(project: QgisProject): Promise<Map<string, string>> {
  const paths = [...new Set(project.layers.flatMap((l) => (l.source.path ? [l.source.path] : [])))];
  return new Map(await Promise.all(paths.map(async (path) => [path, await sourceStampAsync(path)] as const)));
}

/** Hears that project `key` was loaded, reloaded or evicted; `previous` is the version it replaces, if any. */
export type ProjectListener = (key: string, previous: CachedProject | undefined) => void;

export class ProjectCache {
  /** In least-recently-used-first order (a Map keeps insertion order; a use re-inserts). */
  private readonly entries = new Map<string, CachedProject>();
  private readonly loading = new Map<string, Promise<CachedProject>>();
  private readonly listeners: ProjectListener[] = [];
  /** Keys pinned (preloaded), until evicted on request: one dropped because its file broke comes back pinned. */
  private readonly pins = new Set<string>();
  /** Bumped by every load, reload and eviction. */
  generation = 0;

  constructor(readonly options: ProjectCacheOptions) {}

  /** Calls `listener` on every load, reload and eviction (what was derived from the old version is stale). */
  onChange(listener: ProjectListener): void {
    this.listeners.push(listener);
  }

  private changed(key: string, previous: CachedProject | undefined): void {
    for (const listener of this.listeners) listener(key, previous);
  }

  resolve(uri: string): ProjectRef {
    return resolveProjectUri(this.options.root, uri);
  }

  /** Cached projects, least recently used first. */
  list(): CachedProject[] {
    return [...this.entries.values()];
  }

  peek(key: string): CachedProject | undefined {
    return this.entries.get(key);
  }

  /** The project, loaded on demand and reloaded if its file changed. */
  async get(uri: string): Promise<CachedProject> {
    const ref = this.resolve(uri);
    const entry = this.entries.get(ref.key);
    if (!entry) return this.load(ref, this.pins.has(ref.key));
    if (await this.stale(entry)) {
      // The file on disk is what counts: once it changed and cannot be read, no answer comes from the old version.
      return this.load(ref, entry.pinned).catch((e) => { this.drop(ref.key); throw e; });
    }
    this.entries.delete(ref.key);
    this.entries.set(ref.key, entry);
    return entry;
  }

  /**
   * Loads or reloads (PUT); `pin` (a preload) keeps it out of LRU eviction from now on, also when
   * this load fails or the file breaks later: it comes back pinned once it can be read.
   */
  async refresh(uri: string, pin = false): Promise<CachedProject> {
    const ref = this.resolve(uri);
    if (pin) this.pins.add(ref.key);
    return this.load(ref, this.pins.has(ref.key));
  }

  /** Evicts (DELETE), unpinning it; false when it was neither cached nor pinned. */
  evict(uri: string): boolean {
    const key = this.entries.has(uri) ? uri : this.resolve(uri).key;
    const unpinned = this.pins.delete(key);
    return this.drop(key) || unpinned;
  }

  /** Drops a cached project (evicted, or its file gone or unreadable); false when it was not cached. */
  private drop(key: string): boolean {
    const previous = this.entries.get(key);
    if (!previous) return false;
    this.entries.delete(key);
    this.generation++;
    this.changed(key, previous);
    this.options.log.info({ project: key }, 'project evicted');
    return true;
  }

  state(): CacheState {
    return {
      generation: this.generation,
      entries: this.list().map((e) => ({ key: e.key, filename: e.project.filename, version: e.version, pinned: e.pinned })),
    };
  }

  /** Makes this cache hold exactly the projects of `state`, at their versions (a worker mirroring the main thread). */
  async syncTo(state: CacheState): Promise<void> {
    if (state.generation === this.generation) return;
    const wanted = new Map(state.entries.map((e) => [e.key, e]));
    for (const key of this.entries.keys()) if (!wanted.has(key)) this.entries.delete(key);
    await Promise.all(state.entries.map(async (e) => {
      if (this.entries.get(e.key)?.version !== e.version) await this.load({ key: e.key, filename: e.filename }, e.pinned, e.version);
    }));
    // Keep the main thread's LRU order, so the listing reads the same everywhere.
    for (const e of state.entries) { const entry = this.entries.get(e.key)!; this.entries.delete(e.key); this.entries.set(e.key, entry); }
    this.generation = state.generation;
  }

  /** Whether the project must be read again: its file changed, or a layer was bad only because its database did not answer. */
  private async stale(entry: CachedProject): Promise<boolean> {
    const now = Date.now();
    if (now - entry.checkedAt < this.options.checkInterval * 1000) return false;
    entry.checkedAt = now;
    try {
      // Compared as Dates (whole milliseconds): mtimeMs carries fractions a Date drops, which would look like a change.
      const changed = (await stat(entry.project.filename)).mtime.getTime() !== entry.project.lastModified.getTime();
      return changed || entry.project.layers.some((l) => l.unreachable) || await entry.dataChanged();
    } catch {
      this.drop(entry.key);
      throw new ApiError(404, 'PROJECT_NOT_FOUND', `Project "${entry.key}" no longer exists.`);
    }
  }

  /** `version` is given when mirroring; otherwise the load is a change of this cache's own. */
  private load(ref: ProjectRef, pinned: boolean, version?: number): Promise<CachedProject> {
    // Concurrent requests for one project share one read.
    const pending = this.loading.get(ref.key);
    if (pending) return pending;
    const started = Date.now();
    const loading = readProject(ref.filename, this.options.root)
      .then(async (project) => ({ project, stamps: version === undefined ? await dataStamps(project) : undefined }))
      .then(({ project, stamps }) => {
        const entry = new CachedProject(ref.key, project, pinned, version ?? ++this.generation, this.options, stamps);
        const previous = this.entries.get(ref.key);
        this.entries.delete(ref.key);
        this.entries.set(ref.key, entry);
        this.changed(ref.key, previous);
        const bad = project.layers.filter((l) => !l.valid).map((l) => `${l.name}: ${l.error}`);
        this.options.log.info({ project: ref.key, layers: project.layers.length, bad: bad.length, ...(bad.length ? { badLayers: bad } : {}), ms: Date.now() - started }, 'project loaded');
        if (version === undefined) this.trim();
        return entry;
      })
      .catch((e) => {
        if (e instanceof ApiError) throw e;
        throw new ApiError(422, 'PROJECT_UNREADABLE', `Project "${ref.key}" cannot be read: ${(e as Error).message}`);
      })
      .finally(() => this.loading.delete(ref.key));
    this.loading.set(ref.key, loading);
    return loading;
  }

  /** Drops least recently used unpinned projects beyond the size bound. */
  private trim(): void {
    let unpinned = this.list().filter((e) => !e.pinned);
    while (unpinned.length > this.options.size) {
      this.drop(unpinned[0].key);
      unpinned = unpinned.slice(1);
    }
  }
}
