// The tile cache: byte bound with LRU eviction, counters, per-layer invalidation, shared misses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TileCache, tileKey, type CachedTile } from '../src/tiles/cache.js';

const tile = (bytes: number): CachedTile => ({ body: Buffer.alloc(bytes, 1), etag: `"${bytes}"`, contentType: 'x' });
const key = (x: number, layer = 1) => tileKey({ format: 'mvt', resources: [layer], z: 3, x, y: 0 });

test('keys name format, resources, tile and params', () => {
  assert.equal(tileKey({ format: 'mvt', resources: [2, 6], z: 1, x: 0, y: 1, params: 'extent=4096' }), 'mvt|2,6|1/0/1|extent=4096');
});

test('hits, misses and bypasses are counted; empty tiles are cached', async () => {
  const cache = new TileCache(1 << 20);
  let made = 0;
  const produce = async () => { made++; return tile(0); };
  assert.equal((await cache.get(key(0), [1], produce)).outcome, 'miss');
  assert.equal((await cache.get(key(0), [1], produce)).outcome, 'hit');
  assert.equal((await cache.get(key(0), [1], produce, true)).outcome, 'bypass');
  assert.equal(made, 2);
  const s = cache.stats();
  assert.deepEqual([s.hits, s.misses, s.bypasses, s.entries], [1, 1, 1, 1]);
});

test('the byte budget holds, evicting the least recently used first', async () => {
  const cache = new TileCache(3 * (1000 + 300));
  for (const x of [0, 1, 2]) await cache.get(key(x), [1], async () => tile(1000));
  await cache.get(key(0), [1], async () => tile(1000)); // 0 is now the most recent
  await cache.get(key(3), [1], async () => tile(1000));
  const s = cache.stats();
  assert.ok(s.bytes <= s.maxBytes);
  assert.equal(s.evictions, 1);
  assert.equal((await cache.get(key(0), [1], async () => tile(1000))).outcome, 'hit');
  assert.equal((await cache.get(key(1), [1], async () => tile(1000))).outcome, 'miss');
});

test('evicts in exact order of last use, across hits, invalidations and replacements', async () => {
  const cache = new TileCache(4 * (1000 + 300));
  const put = (x: number, layer = 1) => cache.get(key(x, layer), [layer], async () => tile(1000));
  for (const x of [0, 1, 2, 3]) await put(x);
  for (const x of [2, 0, 3, 1]) assert.equal(cache.hit(key(x)) !== undefined, true); // recency now 2, 0, 3, 1
  await put(4);
  await put(5);
  const cached = (x: number, layer = 1) => cache.stats().entries > 0 && cache.hit(key(x, layer)) !== undefined;
  assert.deepEqual([cached(2), cached(0)], [false, false], 'the two least recently used went first');
  // Left, least recently used first: 3, 1, 4, 5 (reading them in that order keeps it).
  assert.deepEqual([3, 1, 4, 5].map((x) => cached(x)), [true, true, true, true]);
  // Tiles of another layer, one dropped by its layer's invalidation: the list stays whole.
  await put(6, 2);
  cache.invalidateLayer(2);
  await put(7);
  assert.deepEqual([cached(3), cached(1), cached(4), cached(5), cached(7)], [false, true, true, true, true], 'then the next least recently used');
  assert.equal(cache.stats().evictions, 3);
});

test('gzip bodies count against the budget', async () => {
  const cache = new TileCache(1 << 20);
  await cache.get(key(0), [1], async () => tile(100));
  const before = cache.stats().bytes;
  cache.setGzip(key(0), Buffer.alloc(40));
  assert.equal(cache.stats().bytes, before + 40);
});

test('invalidating a layer drops its tiles only, a tile made from old data is not stored, and one asked after it is made afresh', async () => {
  const cache = new TileCache(1 << 20);
  await cache.get(key(0, 1), [1], async () => tile(10));
  await cache.get(key(0, 2), [2], async () => tile(10));
  let release!: () => void;
  const slow = cache.get(key(1, 1), [1], () => new Promise<CachedTile>((r) => { release = () => r(tile(10)); }));
  cache.invalidateLayer(1);
  assert.equal(cache.stats().entries, 1);
  release();
  assert.equal((await slow).tile.body.length, 10, 'asked before the change: the old tile');
  assert.equal(cache.stats().entries, 1, 'not stored');
  assert.equal((await cache.get(key(0, 2), [2], async () => tile(10))).outcome, 'hit');

  const old = cache.get(key(1, 1), [1], () => new Promise<CachedTile>((r) => { release = () => r(tile(10)); }));
  cache.invalidateLayer(1);
  const fresh = cache.get(key(1, 1), [1], async () => tile(20));
  release();
  assert.equal((await old).tile.body.length, 10);
  assert.equal((await fresh).tile.body.length, 20, 'asked after the change: not joined to the production from old data');
  assert.equal(cache.hit(key(1, 1))?.body.length, 20);
});

test('concurrent misses for one key produce the tile once', async () => {
  const cache = new TileCache(1 << 20);
  let made = 0;
  const produce = async () => { made++; await new Promise((r) => setTimeout(r, 10)); return tile(5); };
  const all = await Promise.all([0, 1, 2, 3].map(() => cache.get(key(9), [1], produce)));
  assert.equal(made, 1);
  assert.ok(all.every((r) => r.tile.body.length === 5));
});

test('a tile being made is abandoned once every asker has gone, and the next asker starts afresh', async () => {
  const cache = new TileCache(1 << 20);
  const signals: AbortSignal[] = [];
  /** Resolves when its signal aborts (rejecting with the reason) or after `ms`. */
  const produce = (ms: number) => (signal?: AbortSignal) => {
    signals.push(signal!);
    return new Promise<ReturnType<typeof tile>>((ok, fail) => {
      const timer = setTimeout(() => ok(tile(7)), ms);
      signal!.addEventListener('abort', () => { clearTimeout(timer); fail(signal!.reason); });
    });
  };
  const [a, b] = [new AbortController(), new AbortController()];
  const first = cache.get(key(1), [1], produce(10_000), false, () => a.signal).catch((e) => e);
  const second = cache.get(key(1), [1], produce(10_000), false, () => b.signal).catch((e) => e);
  a.abort(new Error('a left'));
  assert.equal(signals.length, 1);
  assert.equal(signals[0].aborted, false, 'b still waits');
  b.abort(new Error('b left'));
  assert.equal(signals[0].aborted, true);
  assert.equal((await first).message, 'b left');
  assert.equal((await second).message, 'b left');
  const third = await cache.get(key(1), [1], produce(5), false, () => new AbortController().signal);
  assert.equal(signals.length, 2, 'made again, not the abandoned production');
  assert.equal(third.tile.body.length, 7);
  assert.equal(cache.hit(key(1))?.body.length, 7);

  // One asker that cannot leave (no signal: seeding, say) keeps the production.
  const c = new AbortController();
  const kept = cache.get(key(2), [1], produce(20), false, () => c.signal);
  const steady = cache.get(key(2), [1], produce(20));
  c.abort(new Error('c left'));
  assert.equal(signals[2].aborted, false);
  assert.equal((await steady).tile.body.length, 7);
  assert.equal((await kept).tile.body.length, 7);
});

test('counts the bytes of tiles it holds in shared memory (results from workers), until they leave it', async () => {
  const cache = new TileCache(3 * (1000 + 300));
  const shared = (bytes: number): CachedTile => ({ ...tile(0), body: Buffer.from(new SharedArrayBuffer(bytes)) });
  await cache.get(key(0), [1], async () => shared(1000));
  await cache.get(key(1), [2], async () => tile(1000));
  await cache.get(key(2), [1], async () => shared(1000));
  assert.equal(cache.sharedBytes, 2000);
  await cache.get(key(3), [2], async () => tile(1000)); // evicts key 0, the oldest
  assert.equal(cache.sharedBytes, 1000);
  cache.invalidateLayer(1);
  assert.equal(cache.sharedBytes, 0);
});
