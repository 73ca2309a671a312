// A generated layer of 200,000 features (~50 MB of GeoJSON): loading it leaves the server
// responsive, and exporting it streams with memory that stays far below the size of the export.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { readConfig } from '../src/config.js';
import { start, type Running } from '../src/server.js';
import type { Feature, FeatureLayer } from '../src/store/types.js';
import { startMeridian } from './helpers/child.js';
import { writePointLayer } from './helpers/point-layer.js';

const FEATURES = 200_000;
const NOTE = 'x'.repeat(120); // pads each feature to ~260 bytes, so the file is ~50 MB

async function writeBigLayer(dir: string): Promise<void> {
  await writePointLayer(join(dir, 'big.geojson'), FEATURES, (k) => `{"n":${k},"name":"feature ${k}","value":${k / 7},"note":"${NOTE}"}`);
  writeFileSync(join(dir, 'catalog.json'), JSON.stringify({ resources: [
    { id: 1, cls: 'vector_layer', parent: 0, display_name: 'Big', keyname: 'big', source: 'big.geojson' },
    { id: 2, cls: 'resource_group', parent: 0, display_name: 'Other' },
  ] }));
}

/** Reads a response to the end, counting bytes and newlines, holding none of it. */
async function drain(res: Response): Promise<{ bytes: number; lines: number }> {
  let bytes = 0, lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  }
  return { bytes, lines };
}

describe('a layer of 200,000 features', () => {
  let dir: string;
  let running: Running;
  let probe: { answered: number; slowest: number; maxDelayMs: number; loadMs: number };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-big-'));
    await writeBigLayer(dir);
    probe = await loadWhileProbing();
  });
  after(async () => { await running?.close(); rmSync(dir, { recursive: true, force: true }); });

  /** Starts an in-process server over the big layer, asking it for another resource while it loads. */
  async function loadWhileProbing() {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    const config = readConfig(['--port', '0', '--host', '127.0.0.1', '--data', dir], { MERIDIAN_MANAGEMENT_PORT: 'off' });
    running = await start(config, pino({ level: 'silent' }));
    delay.enable();
    let loaded = false, answered = 0, slowest = 0;
    const t0 = performance.now();
    running.layersLoaded.then(() => { loaded = true; });
    while (!loaded) {
      const asked = performance.now();
      const res = await fetch(`${running.url}/api/resource/2`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      slowest = Math.max(slowest, performance.now() - asked);
      answered++;
      await new Promise((r) => setTimeout(r, 20));
    }
    delay.disable();
    return { answered, slowest, maxDelayMs: delay.max / 1e6, loadMs: performance.now() - t0 };
  }

  it('loads without blocking the event loop: other requests are answered meanwhile', async () => {
    const { answered, slowest, maxDelayMs, loadMs } = probe;
    console.log(`# loading took ${loadMs.toFixed(0)} ms: ${answered} requests answered, slowest ${slowest.toFixed(0)} ms, event-loop delay max ${maxDelayMs.toFixed(0)} ms`);
    const body = await (await fetch(`${running.url}/api/resource/1/feature_count`)).json() as { total_count: number };
    assert.equal(body.total_count, FEATURES);
    assert.ok(answered >= 10, `only ${answered} requests were answered while loading`);
    // Bounds relative to the load time, so that a busy machine slows both sides alike. One JSON.parse
    // of the whole file blocks for a quarter of the load or more; streaming keeps each block short.
    assert.ok(maxDelayMs < loadMs / 6, `the event loop was blocked for ${maxDelayMs.toFixed(0)} ms of a ${loadMs.toFixed(0)} ms load`);
    assert.ok(slowest < loadMs / 3, `a request took ${slowest.toFixed(0)} ms of a ${loadMs.toFixed(0)} ms load`);
  });

  it('exports GeoJSON and CSV as streams: the server RSS grows by a small fraction of the export', async () => {
    const server = await startMeridian(['--data', dir], { LOG_LEVEL: 'info' });
    try {
      await server.waitForLog((l) => l.msg === 'layer loaded', 120_000);
      const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
      // Other areas may do background work on a freshly loaded layer (tile preparation in a worker
      // thread): measure from a quiet baseline, once that is done and the RSS has stopped moving.
      await server.waitForLog((l) => l.msg === 'layer prepared for tiles', 60_000).catch(() => {});
      for (let last = server.rss(), quiet = 0, deadline = Date.now() + 60_000; quiet < 2 && Date.now() < deadline;) {
        await new Promise((r) => setTimeout(r, 500));
        const now = server.rss();
        quiet = Math.abs(now - last) < 4 * 2 ** 20 ? quiet + 1 : 0;
        last = now;
      }
      // Three downloads at once: holding the documents would take at least their total size; streaming
      // needs a small buffer per download (plus whatever garbage the collector has not reclaimed yet).
      for (const format of ['geojson', 'csv']) {
        const baseline = server.rss();
        let peak = baseline;
        const sampler = setInterval(() => { peak = Math.max(peak, server.rss()); }, 25);
        const results = await Promise.all([1, 2, 3].map(async () => drain(await fetch(`${server.url}/api/resource/1/${format}`))));
        clearInterval(sampler);
        const growth = peak - baseline;
        const bytes = results.reduce((sum, r) => sum + r.bytes, 0);
        console.log(`# ${format}: 3 × ${mb(results[0].bytes)} sent at once; server RSS ${mb(baseline)}, peak +${mb(growth)}`);
        assert.ok(results[0].bytes > 30 * 2 ** 20, `the ${format} export is only ${mb(results[0].bytes)}`);
        assert.ok(results.every((r) => r.bytes === results[0].bytes), 'the same document each time');
        if (format === 'csv') assert.equal(results[0].lines, FEATURES + 1, 'a header and one row per feature');
        // Holding the documents would take more than their size (JS strings, 3 at once: +470 MB measured);
        // streaming stays well below it, though garbage collection timing makes RSS noisy under load.
        assert.ok(growth < bytes * 0.8, `RSS grew ${mb(growth)} while sending ${mb(bytes)} of ${format}`);
      }
      // A fast reader never pushes back: an export must still give other requests their turn.
      for (const format of ['geojson', 'csv']) {
        let exported = false;
        const started = performance.now();
        const exporting = fetch(`${server.url}/api/resource/1/${format}`).then(drain).then((r) => { exported = true; return r; });
        let answered = 0, slowest = 0;
        while (!exported) {
          const asked = performance.now();
          assert.equal((await fetch(`${server.url}/api/resource/2`)).status, 200);
          slowest = Math.max(slowest, performance.now() - asked);
          answered++;
        }
        const took = performance.now() - started;
        console.log(`# ${format} export of ${mb((await exporting).bytes)} in ${took.toFixed(0)} ms: ${answered} other requests answered, slowest ${slowest.toFixed(0)} ms`);
        assert.ok(answered >= 5 && slowest < took / 3, `${answered} requests answered during a ${took.toFixed(0)} ms ${format} export, slowest ${slowest.toFixed(0)} ms`);
      }
    } finally {
      server.proc.kill('SIGTERM');
      await server.exited;
    }
  });

  /** Counts the features the export pulls from the layer, and notes when it stops pulling. */
  function watchIteration(): { produced: () => number; finished: () => boolean; restore: () => void } {
    const state = running.services.catalog.layerState(1);
    assert.equal(state?.status, 'ready');
    const layer = (state as { layer: FeatureLayer }).layer;
    const original = layer.features;
    let produced = 0, finished = false;
    (layer as { features: FeatureLayer['features'] }).features = (query) => (async function* () {
      try {
        for await (const f of original.call(layer, query)) { produced++; yield f as Feature; }
      } finally { finished = true; }
    })();
    return { produced: () => produced, finished: () => finished, restore: () => { (layer as { features: unknown }).features = original; } };
  }

  for (const format of ['geojson', 'csv', 'geojson?zipped=yes', 'csv?zipped=yes']) {
    it(`${format}: a slow reader holds the export back, and a disconnect stops it`, async () => {
      const watch = watchIteration();
      // Koa prints an error of a streamed answer as a raw stack unless the app listens for it.
      const printed: unknown[][] = [];
      const print = console.error;
      console.error = (...args: unknown[]) => { printed.push(args); };
      try {
        const abort = new AbortController();
        const res = await fetch(`${running.url}/api/resource/1/${format}`, { signal: abort.signal });
        const reader = res.body!.getReader();
        await reader.read();
        await new Promise((r) => setTimeout(r, 300)); // the client stops reading: backpressure
        const whilePaused = watch.produced();
        assert.ok(whilePaused < FEATURES / 4, `${whilePaused} features were produced for a client that read one chunk`);
        abort.abort();
        await reader.cancel().catch(() => {});
        const deadline = Date.now() + 2000;
        while (!watch.finished() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.ok(watch.finished(), 'the feature iteration ended after the client went away');
        const atStop = watch.produced();
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(watch.produced(), atStop);
        assert.ok(atStop < FEATURES, 'the export did not run to the end');
        assert.deepEqual(printed, [], 'nothing printed outside the JSON log');
      } finally {
        console.error = print;
        watch.restore();
      }
    });
  }
});
