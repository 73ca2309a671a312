// Live tile latency while seeding runs: rendered PNG tiles (asked with no-cache, so each is drawn)
// timed with no seeding, then during a PNG seeding job at the default share (half the pool), then
// with seeding given the whole pool. Dataset: the sample countries110 layer and its style 3.
// Run: npm run bench:seeding   (BENCH_REQUESTS=60 by default; about a minute)
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { readConfig } from '../src/config.js';
import { start } from '../src/server.js';
import { tempData } from '../test/helpers/server.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 60);
const PASSWORD = 'bench-password-1';
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function main(): Promise<void> {
  const workers = Math.max(2, cpus().length);
  console.log(`machine: ${cpus()[0].model} ×${cpus().length}, node ${process.version}; pool of ${workers} workers`);
  const config = readConfig(['--port', '0', '--host', '127.0.0.1', '--data', tempData({ copySample: true }), '--styles', 'styles'],
    { MERIDIAN_MANAGEMENT_PORT: 'off', MERIDIAN_WORKERS: String(workers), MERIDIAN_ADMIN_PASSWORD: PASSWORD, MERIDIAN_PASSWORD_COST: '10' });
  const running = await start(config, pino({ level: 'silent' }));
  await running.layersLoaded;
  const auth = { authorization: `Basic ${Buffer.from(`administrator:${PASSWORD}`).toString('base64')}`, 'content-type': 'application/json' };
  const farm = (method: string, path: string, body?: object) =>
    fetch(`${running.url}/farm/api/v3${path}`, { method, headers: auth, body: body && JSON.stringify(body) }).then((r) => r.text()).then((t) => (t ? JSON.parse(t) : undefined));

  // Zoom 4 tiles, drawn afresh each time.
  async function liveLatency(): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const x = i % 16, y = 4 + (i % 8);
      const t0 = performance.now();
      const res = await fetch(`${running.url}/api/component/render/tile?resource=3&z=4&x=${x}&y=${y}`, { headers: { 'cache-control': 'no-cache' } });
      await res.arrayBuffer();
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b);
  }

  async function during(concurrency: number | null): Promise<{ times: number[]; seeded: number }> {
    if (concurrency === null) return { times: await liveLatency(), seeded: 0 };
    await farm('POST', '/settings', { seed_concurrency: concurrency });
    const job = await farm('POST', '/jobs', { type: 'reseed', format: 'png', resources: [3], zoom: [0, 8], bbox: [-180, -85, 180, 85] });
    await new Promise((r) => setTimeout(r, 500));
    const times = await liveLatency();
    const seeded = (await farm('GET', `/jobs/${job.id}`)).progress.tiles_done;
    await farm('PUT', `/jobs/${job.id}`, { command: 'cancel' });
    return { times, seeded };
  }

  try {
    await liveLatency(); // warm-up: workers started, layer shipped
    const rows: [string, number | null][] = [['no seeding', null], [`seeding, default share (${config.seedConcurrency} of ${workers})`, config.seedConcurrency], [`seeding, whole pool (${workers} of ${workers})`, workers]];
    let base = 0;
    for (const [label, concurrency] of rows) {
      const { times, seeded } = await during(concurrency);
      const p50 = quantile(times, 0.5), p95 = quantile(times, 0.95);
      if (concurrency === null) base = p50;
      console.log(`${label.padEnd(40)} live p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, p50 ×${(p50 / base).toFixed(2)}; seeded meanwhile ${seeded} tiles`);
    }
  } finally {
    await running.close();
  }
}

main();
