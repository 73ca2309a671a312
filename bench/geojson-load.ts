// Loading a large GeoJSON source: Meridian's streaming reader against the baseline of one
// JSON.parse of the whole file, both feeding the same layer builder. Reports wall time and the
// longest event-loop block (what other requests wait for) of each, and their ratios.
//   npm run bench:geojson-load              (200,000 generated points, ~56 MB)
//   BENCH_FEATURES=50000 npm run bench:geojson-load
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { buildLayer } from '../src/store/build.js';
import type { SourceReader } from '../src/store/source.js';
import { openGeoJson } from '../src/store/sources/geojson.js';

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

async function measure(open: (path: string) => Promise<SourceReader>, path: string) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const t0 = performance.now();
  const layer = await buildLayer(await open(path), 'bench', log);
  const ms = performance.now() - t0;
  delay.disable();
  if ((await layer.count()) !== FEATURES) throw new Error('wrong feature count');
  return { ms, blockMs: delay.max / 1e6 };
}

const dir = mkdtempSync(join(tmpdir(), 'meridian-bench-'));
try {
  const path = join(dir, 'points.geojson');
  await writeLayer(path);
  const mb = statSync(path).size / 2 ** 20;
  // Meridian first, so that it does not pay for the garbage the baseline leaves behind.
  const streaming = await measure(openGeoJson, path);
  const baseline = await measure(wholeDocument, path);
  console.log(`dataset: ${FEATURES} generated points, 4 properties, ${mb.toFixed(1)} MB GeoJSON; ${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}`);
  console.log('| reader | load ms | longest event-loop block ms |\n|---|---|---|');
  console.log(`| JSON.parse (baseline) | ${baseline.ms.toFixed(0)} | ${baseline.blockMs.toFixed(0)} |`);
  console.log(`| stream-json (Meridian) | ${streaming.ms.toFixed(0)} | ${streaming.blockMs.toFixed(0)} |`);
  console.log(`longest block: ${(baseline.blockMs / streaming.blockMs).toFixed(1)}× shorter; load time: ${(streaming.ms / baseline.ms).toFixed(2)}× the baseline`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
