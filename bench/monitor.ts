// npm run bench:monitor — what monitoring costs: the same endpoint benchmarked with monitoring off
// (MERIDIAN_MONITOR=0) and on, alternating rounds, each server in its own process, one run.
// Dataset: the sample data (data/catalog.json, resource 2 = countries, 177 polygons).
// Reported per setting: median throughput and latency over the rounds, and the server process's CPU
// time per request (from /proc, Linux) — the steadier figure on a machine shared with other work.
// Options: --path URL-PATH (default a tile when the tiling core answers one, else a feature page),
//          --seconds N per round (default 3), --rounds N per setting (default 6).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const ROOT = join(import.meta.dirname, '..');
const TILE = '/api/resource/2/2/2/1.mvt';
const FEATURES = '/api/resource/2/feature/?limit=10';
const { values: opts } = parseArgs({ options: { path: { type: 'string' }, seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '6' } } });

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
  });
}

async function startMeridian(monitor: boolean): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--port', String(port), '--host', '127.0.0.1'], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'],
    // The request log is off in both, so the difference is the monitoring alone.
    env: { ...process.env, LOG_LEVEL: 'warn', MERIDIAN_MONITOR: monitor ? '1' : '0' },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`${url}/api/resource/2/feature_count`)).status === 200) return { url, proc }; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('Meridian did not start');
}

/** User + system CPU seconds a process has used (fields 14 and 15 of /proc/PID/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function round(server: { url: string; proc: ChildProcess }, path: string, seconds: number) {
  const cpu0 = cpuSeconds(server.proc.pid!);
  const r = await autocannon({ url: server.url + path, connections: 16, duration: seconds });
  if (r.non2xx || r.errors) throw new Error(`${path}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  const cpuUs = (1e6 * (cpuSeconds(server.proc.pid!) - cpu0)) / r.requests.total;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuUs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const off = await startMeridian(false), on = await startMeridian(true);
try {
  const path = opts.path ?? ((await fetch(off.url + TILE)).ok ? TILE : FEATURES);
  const seconds = Number(opts.seconds), rounds = Number(opts.rounds);
  console.log(`${path} on ${cpus().length}× ${cpus()[0].model}, ${rounds} rounds of ${seconds} s per setting, 16 connections`);
  await round(off, path, 1); await round(on, path, 1); // warm both (JIT, layer caches)
  const results = { off: [] as Awaited<ReturnType<typeof round>>[], on: [] as Awaited<ReturnType<typeof round>>[] };
  for (let i = 0; i < rounds; i++) {
    results.off.push(await round(off, path, seconds));
    results.on.push(await round(on, path, seconds));
  }
  const summary = (k: 'off' | 'on') => {
    const of = (f: 'rps' | 'p50' | 'p99' | 'cpuUs') => median(results[k].map((r) => r[f]));
    return { 'req/s': Math.round(of('rps')), 'p50 ms': of('p50'), 'p99 ms': of('p99'), 'server CPU µs/req': Math.round(of('cpuUs')) };
  };
  const a = summary('off'), b = summary('on');
  console.table({ 'monitoring off': a, 'monitoring on': b });
  const pct = (x: number, y: number) => `${((100 * (y - x)) / x).toFixed(1)}%`;
  console.log(`monitoring on vs off: throughput ${pct(a['req/s'], b['req/s'])}, server CPU per request ${pct(a['server CPU µs/req'], b['server CPU µs/req'])}`);
} finally {
  off.proc.kill();
  on.proc.kill();
}
