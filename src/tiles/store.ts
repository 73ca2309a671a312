// The persistent tile store: served and seeded tiles kept on disk, one file per tile, at
// {root}/{format}/{resource set}/{z}/{x}/{y}.{ext} (resource set: the layer ids joined by "_", in
// request order). An empty tile is an empty file. Files are written to a temporary name beside
// the target and renamed, so a crash never leaves a torn tile. The store is bounded in bytes and
// evicts the least recently used files; its index is rebuilt from the folder at start (oldest
// modification time first), so it survives restarts, kill -9 included. `sources.json` records a
// stamp of each layer's source file, so a start over unchanged data keeps the tiles and a start
// over changed data drops them. Tiles served live are written behind, once no tile has been handed
// over for a while (`writeLater`), so writes do not compete with a burst of tiles being made.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

export const TILE_FORMATS = {
  mvt: { ext: 'mvt', contentType: 'application/vnd.mapbox-vector-tile' },
  png: { ext: 'png', contentType: 'image/png' },
} as const;
export type TileFormat = keyof typeof TILE_FORMATS;

export interface StoredTileAddress {
  format: TileFormat;
  resources: readonly number[];
  z: number;
  x: number;
  y: number;
}

export interface TileStoreStats {
  hits: number;
  misses: number;
  writes: number;
  evictions: number;
  invalidations: number;
  entries: number;
  bytes: number;
  maxBytes: number;
  /** Bytes read from disk for hits. */
  hitBytes: number;
}

const TEMP_SUFFIX = '.tmp';
/** How long no tile may be handed to `writeLater` before the tiles waiting are written. */
const WRITE_PAUSE_MS = 50;
/** Bytes that may wait to be written by default; beyond them, the oldest tile is written at once. */
const WAITING_BYTES = 64 * 1024 * 1024;
const STAMPS_FILE = 'sources.json';

export function resourceSetName(resources: readonly number[]): string {
  return resources.join('_');
}

export class TileStore {
  /** Relative path → size; Map order is recency order (first = least recently used). */
  private readonly files = new Map<string, number>();
  /** Bumped per layer on invalidation, so a tile produced from older data is not written. */
  private readonly generation = new Map<number, number>();
  /** Layer id → stamp of the source its stored tiles were made from. */
  private stamps: Record<string, string> = {};
  private bytes = 0;
  private counts = { hits: 0, misses: 0, writes: 0, evictions: 0, invalidations: 0, hitBytes: 0 };
  /** Folders this process made or found, so a write skips its mkdir (one file-system call of five). */
  private readonly folders = new Set<string>();
  /**
   * Layer changes still under way (their tiles' removal, the stamps file): a write waits for them,
   * so a tile made from new data is neither removed by an older change nor kept on disk before
   * `sources.json` names the source it was made from (a crash then would drop it at the next start).
   */
  private readonly changing = new Set<Promise<unknown>>();
  private stampsSaved: Promise<void> = Promise.resolve();
  /** Tiles waiting for a pause to be written, oldest first (path → tile). */
  private readonly waiting = new Map<string, WaitingTile>();
  private waitingBytes = 0;
  private lastWaited = 0;
  private readonly pause = setTimeout(() => void this.writeWaiting(), WRITE_PAUSE_MS).unref();
  private writingWaiting = false;

  private constructor(readonly root: string, public maxBytes: number, private readonly waitingBytesMax: number) {}

  /**
   * Opens (creating it if needed) the store at `root`, indexing the tiles already there; at most
   * `waitingBytes` of tiles wait for a pause to be written (see `writeLater`).
   */
  static async open(root: string, maxBytes: number, waitingBytes = WAITING_BYTES): Promise<TileStore> {
    const store = new TileStore(root, maxBytes, waitingBytes);
    await mkdir(root, { recursive: true });
    store.stamps = JSON.parse(await readFile(join(root, STAMPS_FILE), 'utf8').catch(() => '{}'));
    const found: { path: string; size: number; mtime: number }[] = [];
    for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
      const full = join(entry.parentPath, entry.name);
      if (!entry.isFile() || !(relative(root, full).split(sep)[0] in TILE_FORMATS)) continue;
      // A temporary file is a write that a crash interrupted.
      if (entry.name.endsWith(TEMP_SUFFIX)) { await unlink(full).catch(() => {}); continue; }
      const s = await stat(full);
      found.push({ path: relative(root, full), size: s.size, mtime: s.mtimeMs });
    }
    found.sort((a, b) => a.mtime - b.mtime);
    for (const f of found) { store.files.set(f.path, f.size); store.bytes += f.size; }
    await store.evict();
    return store;
  }

  pathOf(a: StoredTileAddress): string {
    return join(a.format, resourceSetName(a.resources), String(a.z), String(a.x), `${a.y}.${TILE_FORMATS[a.format].ext}`);
  }

  has(a: StoredTileAddress): boolean {
    return this.files.has(this.pathOf(a));
  }

  /** The stored bytes of a tile (or of one waiting to be written), or undefined (counted as a hit or a miss). */
  async read(a: StoredTileAddress): Promise<Buffer | undefined> {
    const path = this.pathOf(a);
    const waiting = this.waiting.get(path);
    if (waiting) return this.hit(waiting.body);
    const size = this.files.get(path);
    if (size === undefined) { this.counts.misses++; return undefined; }
    try {
      const body = await readFile(join(this.root, path));
      this.files.delete(path);
      this.files.set(path, size);
      return this.hit(body);
    } catch {
      // Removed behind our back (or evicted meanwhile): a miss.
      this.forget(path);
      this.counts.misses++;
      return undefined;
    }
  }

  /** Per-layer generations now; hand them back to `write` so stale tiles are dropped. */
  generations(resources: readonly number[]): number[] {
    return resources.map((l) => this.generation.get(l) ?? 0);
  }

  private hit(body: Buffer): Buffer {
    this.counts.hits++;
    this.counts.hitBytes += body.length;
    return body;
  }

  /** Whether a layer of `resources` changed since `generations` was taken. */
  private stale(resources: readonly number[], generations: readonly number[]): boolean {
    return resources.some((l, i) => (this.generation.get(l) ?? 0) !== generations[i]);
  }

  /** Writes a tile atomically, unless one of its layers changed since `generations` was taken. */
  async write(a: StoredTileAddress, body: Buffer, generations = this.generations(a.resources)): Promise<boolean> {
    const path = this.pathOf(a);
    if (body.length > this.maxBytes) return false;
    if (this.stale(a.resources, generations)) return false;
    const full = join(this.root, path), folder = dirname(full);
    if (this.changing.size) await Promise.allSettled(this.changing);
    let temp: string | undefined;
    try {
      if (!this.folders.has(folder)) {
        await mkdir(folder, { recursive: true });
        this.folders.add(folder);
      }
      temp = await writeTemp(full, body);
      // A change may have come while writing; its invalidation must win.
      if (this.stale(a.resources, generations)) { await unlink(temp).catch(() => {}); return false; }
      await rename(temp, full);
      // Or while renaming: its folder removal may have come first, so the file goes here.
      if (this.stale(a.resources, generations)) { await unlink(full).catch(() => {}); return false; }
    } catch (e) {
      // An invalidation was removing this folder meanwhile: the tile is not kept, which is what it wants.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.folders.delete(folder);
      if (temp) await unlink(temp).catch(() => {});
      return false;
    }
    this.forget(path);
    this.files.set(path, body.length);
    this.bytes += body.length;
    this.counts.writes++;
    await this.evict();
    return true;
  }

  /**
   * Writes a tile once no other has been handed over for WRITE_PAUSE_MS (or at once, oldest first, when more
   * bytes wait than the store allows), as `write` would; the promise settles when it is written or refused.
   */
  writeLater(a: StoredTileAddress, body: Buffer, generations: number[]): Promise<boolean> {
    // A waiting tile is never stale: one made before a change is refused here, and a change drops
    // the tiles of its layer that wait (invalidateLayer), so `read` may serve any waiting tile.
    if (this.stale(a.resources, generations)) return Promise.resolve(false);
    const path = this.pathOf(a);
    const replaced = this.waiting.get(path);
    if (replaced) this.unwait(path, replaced).done(false);
    const written = new Promise<boolean>((resolve, reject) => {
      this.waiting.set(path, { address: a, body, generations, done: resolve, failed: reject });
    });
    this.waitingBytes += body.length;
    this.lastWaited = performance.now();
    this.pause.refresh();
    while (this.waitingBytes > this.waitingBytesMax) this.writeOldestWaiting();
    return written;
  }

  /** Writes every tile still waiting (at a graceful stop). */
  async flush(): Promise<void> {
    const all: Promise<boolean>[] = [];
    while (this.waiting.size) all.push(this.writeOldestWaiting());
    await Promise.allSettled(all);
  }

  /** Writes the waiting tiles one at a time while none is handed over; a new tile waiting defers the rest. */
  private async writeWaiting(): Promise<void> {
    if (this.writingWaiting) return;
    this.writingWaiting = true;
    try {
      while (this.waiting.size && performance.now() - this.lastWaited >= WRITE_PAUSE_MS) {
        await this.writeOldestWaiting().catch(() => undefined);
      }
    } finally {
      this.writingWaiting = false;
    }
    if (this.waiting.size) this.pause.refresh();
  }

  private writeOldestWaiting(): Promise<boolean> {
    const tile = this.unwait(...this.waiting.entries().next().value!);
    const written = this.write(tile.address, tile.body, tile.generations);
    written.then(tile.done, tile.failed);
    return written;
  }

  private unwait(path: string, tile: WaitingTile): WaitingTile {
    this.waiting.delete(path);
    this.waitingBytes -= tile.body.length;
    return tile;
  }

  /**
   * A layer's data became ready or was replaced. At its first load in this process, tiles made from
   * a source with the same `stamp` stay; otherwise (a replacement, or a changed source) they go,
   * with the PNG tiles of its `styles`.
   */
  async layerChanged(layer: number, stamp: string, firstLoad: boolean, styles: readonly number[] = []): Promise<void> {
    if (firstLoad && this.stamps[layer] === stamp) return;
    await this.whileChanging((async () => {
      // PNG sets are named by style ids: a layer's styles are drawn from its data, so they go too.
      await Promise.all([layer, ...styles].map((id) => this.invalidateLayer(id)));
      this.stamps[layer] = stamp;
      await this.saveStamps();
    })());
  }

  /**
   * Writes `sources.json`, one write at a time, each of the stamps as they are when it starts: the
   * last one holds every change (layers loading together would otherwise rename their own
   * snapshots in any order, and a lost stamp drops that layer's tiles at the next start).
   */
  private saveStamps(): Promise<void> {
    const file = join(this.root, STAMPS_FILE);
    this.stampsSaved = this.stampsSaved.catch(() => undefined)
      .then(async () => rename(await writeTemp(file, JSON.stringify(this.stamps)), file));
    return this.stampsSaved;
  }

  /** Removes every stored tile of a resource set that contains `layer`: its data changed. */
  invalidateLayer(layer: number): Promise<void> {
    this.generation.set(layer, (this.generation.get(layer) ?? 0) + 1);
    const sets = new Set<string>();
    for (const path of [...this.files.keys()]) {
      const [format, set] = path.split(sep);
      if (!set.split('_').includes(String(layer))) continue;
      this.forget(path);
      this.counts.invalidations++;
      sets.add(join(format, set));
    }
    this.folders.clear();
    for (const [path, tile] of this.waiting) if (tile.address.resources.includes(layer)) this.unwait(path, tile).done(false);
    return this.whileChanging(Promise.all([...sets].map((s) => rm(join(this.root, s), { recursive: true, force: true })))).then(() => undefined);
  }

  /** `change`, which writes wait for until it has settled. */
  private whileChanging<T>(change: Promise<T>): Promise<T> {
    this.changing.add(change);
    const over = () => { this.changing.delete(change); };
    change.then(over, over);
    return change;
  }

  /** Removes one tile; true if it was stored. */
  async remove(a: StoredTileAddress): Promise<boolean> {
    const path = this.pathOf(a);
    if (!this.files.has(path)) return false;
    this.forget(path);
    await unlink(join(this.root, path)).catch(() => {});
    return true;
  }

  async setMaxBytes(maxBytes: number): Promise<void> {
    this.maxBytes = maxBytes;
    await this.evict();
  }

  stats(): TileStoreStats {
    return { ...this.counts, entries: this.files.size, bytes: this.bytes, maxBytes: this.maxBytes };
  }

  private forget(path: string): void {
    const size = this.files.get(path);
    if (size === undefined) return;
    this.files.delete(path);
    this.bytes -= size;
  }

  private async evict(): Promise<void> {
    const doomed: string[] = [];
    for (const path of this.files.keys()) {
      if (this.bytes <= this.maxBytes) break;
      doomed.push(path);
      this.bytes -= this.files.get(path)!;
      this.counts.evictions++;
    }
    for (const path of doomed) this.files.delete(path);
    await Promise.all(doomed.map((p) => unlink(join(this.root, p)).catch(() => {})));
  }
}

interface WaitingTile {
  address: StoredTileAddress;
  body: Buffer;
  generations: number[];
  done(written: boolean): void;
  failed(err: unknown): void;
}

async function writeTemp(target: string, body: Buffer | string): Promise<string> {
  const temp = `${target}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
  await writeFile(temp, body);
  return temp;
}
