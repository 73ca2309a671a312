// Loading a large GeoJSON source: Meridian's reader (a byte scanner splitting the features, each
// parsed with JSON.parse) against two baselines: one JSON.parse of the whole file, and stream-json's
// token-level parser as its README shows it (pick + streamValues), all three feeding the same layer
// builder. Reports wall time and the longest event-loop block (what other requests wait for) of
// each, and their ratios, on generated points and on the Natural Earth 10 m countries.
//   npm run bench:geojson-load              (200,000 generated points, ~56 MB; countries, 168 MB)
//   BENCH_FEATURES=50000 npm run bench:geojson-load
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import chain from 'stream-chain';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { buildLayer } from '../src/store/build.js';
import type { SourceReader } from '../src/store/source.js';
import { openGeoJson } from '../src/store/sources/geojson.js';
import { COUNTRIES } from './mvt-data.js';

const FEATURES = Number(process.env.BENCH_FEATURES ?? 200_000);
const log = pino({ level: 'silent' });

async function writeLayer(path: string): Promise<void> {
  const out = createWriteStream(path);
  out.write('{"type":"FeatureCollection","features":[\n');
  for (let i = 0; i < FEATURES; i++) {
    const line = `{"type":"Feature","properties":{"n":${i},"name":"feature ${i}","value":${i / 7},"note":"${'x'.repeat(120)}"},`
      + `"geometry":{"type":"Point","coordinates":[${-180 + (i % 3600) / 10},${-80 + Math.floor(i / 3600) / 4}]}}`;
    if (!out.write((i ? ',\n' : '') + line)) await once(out, 'drain');
  }
  out.end(']}\n');
  await once(out, 'finish');
}

/** The reader Meridian had before streaming: the whole document parsed at once. */
async function wholeDocument(path: string): Promise<SourceReader> {
  const doc = JSON.parse(await readFile(path, 'utf8'));
  return { crs: null, features: (async function* () { for (const f of doc.features) yield { id: f.id, geometry: f.geometry, properties: f.properties }; })() };
}

/** stream-json as its README streams an array member: every token parsed in JavaScript. */
async function tokenStream(path: string): Promise<SourceReader> {
  const features = chain([createReadStream(path), parser(), pick({ filter: 'features' }), streamArray()]) as AsyncIterable<{ value: any }>;
  return { crs: null, features: (async function* () { for await (const { value: f } of features) yield { id: f.id, geometry: f.geometry, properties: f.properties }; })() };
}

/**
 * The longest gap between ticks of a 5 ms interval until the returned function is called, less the
 * interval: how long a request could have waited for the event loop.
 */
function longestBlock(): () => number {
  let last = performance.now(), longest = 0;
  const tick = () => { const now = performance.now(); longest = Math.max(longest, now - last); last = now; };
  const timer = setInterval(tick, 5);
  return () => { tick(); clearInterval(timer); return Math.max(0, longest - 5); };
}

async function measure(open: (path: string) => Promise<SourceReader>, path: string) {
  const blocked = longestBlock();
  const t0 = performance.now();
  const layer = await buildLayer(await open(path), 'bench', log);
  const ms = performance.now() - t0;
  return { ms, blockMs: blocked(), count: await layer.count() };
}

async function compare(name: string, path: string): Promise<void> {
  const mb = statSync(path).size / 2 ** 20;
  // Meridian first, so that it does not pay for the garbage the baselines leave behind.
  const meridian = await measure(openGeoJson, path);
  const tokens = await measure(tokenStream, path);
  const whole = await measure(wholeDocument, path);
  if (tokens.count !== meridian.count || whole.count !== meridian.count) throw new Error(`${name}: the readers read different feature counts`);
  console.log(`\n${name}: ${meridian.count} features, ${mb.toFixed(1)} MB GeoJSON; ${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}`);
  console.log('| reader | load ms | longest event-loop block ms |\n|---|---|---|');
  console.log(`| JSON.parse of the whole file (baseline) | ${whole.ms.toFixed(0)} | ${whole.blockMs.toFixed(0)} |`);
  console.log(`| stream-json, token by token (baseline) | ${tokens.ms.toFixed(0)} | ${tokens.blockMs.toFixed(0)} |`);
  console.log(`| Meridian (features split, JSON.parse each) | ${meridian.ms.toFixed(0)} | ${meridian.blockMs.toFixed(0)} |`);
  console.log(`${name}: against JSON.parse: longest block ${(whole.blockMs / meridian.blockMs).toFixed(1)}× shorter, load time ${(meridian.ms / whole.ms).toFixed(2)}×;`
    + ` against stream-json: load ${(tokens.ms / meridian.ms).toFixed(2)}× faster, longest block ${(meridian.blockMs / tokens.blockMs).toFixed(2)}×`);
}

const dir = mkdtempSync(join(tmpdir(), 'meridian-bench-'));
try {
  const path = join(dir, 'points.geojson');
  await writeLayer(path);
  await compare(`${FEATURES} generated points (4 properties)`, path);
  await compare('countries-land-10m', COUNTRIES);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
