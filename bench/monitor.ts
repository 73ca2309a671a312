// npm run bench:monitor — what monitoring costs. The same endpoint is loaded on three Meridian
// processes at once in each round: monitoring off, monitoring off again (the control: how far two
// identical servers drift apart on this machine in this run) and monitoring on. The start order
// rotates between rounds, since it alone skews the figures on a busy machine.
// Reported per server: median throughput and latency over the rounds, and its CPU time per request
// (from /proc, Linux). Then, from a V8 CPU profile of a fourth server (monitoring on, profiled and
// loaded alone afterwards, since profiling costs CPU itself), the share of its busy time spent in
// the monitoring code (src/monitor/, prom-client): the steadiest figure when other work shares the
// machine, since it is a ratio within one process.
// Dataset: the sample data (data/catalog.json, resource 2 = countries, 177 polygons).
// Options: --path URL-PATH (default a warm tile), --seconds N per round (3), --rounds N (6).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { median } from './stats.js';

const ROOT = join(import.meta.dirname, '..');
const { values: opts } = parseArgs({
  options: { path: { type: 'string', default: '/api/resource/2/2/2/1.mvt' }, seconds: { type: 'string', default: '3' }, rounds: { type: 'string', default: '6' } },
});

interface Meridian { name: string; url: string; proc: ChildProcess }

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
  });
}

async function startMeridian(name: string, monitor: boolean, profileDir?: string): Promise<Meridian> {
  const port = await freePort();
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const proc = spawn(process.execPath, [...profile, '--import', 'tsx', 'src/main.ts', '--port', String(port), '--host', '127.0.0.1'], {
    cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'],
    // The request log is off in all, so the difference is the monitoring alone.
    env: { ...process.env, MERIDIAN_MANAGEMENT_PORT: 'off', LOG_LEVEL: 'warn', MERIDIAN_MONITOR: monitor ? '1' : '0' },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(url + opts.path)).ok) return { name, url, proc }; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Meridian (${name}) did not answer ${opts.path}`);
}

/** User + system CPU seconds of a process, all threads (fields 14 and 15 of /proc/PID/stat, 1/100 s ticks). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function load(server: Meridian, seconds: number) {
  const cpu0 = cpuSeconds(server.proc.pid!);
  const r = await autocannon({ url: server.url + opts.path, connections: 8, duration: seconds });
  if (r.non2xx || r.errors) throw new Error(`${opts.path}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  const cpuUs = (1e6 * (cpuSeconds(server.proc.pid!) - cpu0)) / r.requests.total;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuUs };
}

/** Share of the profiled main thread's busy samples whose function lives in the monitoring code. */
function monitoringShare(profileDir: string): { share: number; busyMs: number } {
  const files = readdirSync(profileDir).map((f) => join(profileDir, f)).sort((a, b) => statSync(b).size - statSync(a).size);
  const profile = JSON.parse(readFileSync(files[0], 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string } }[]; samples: number[]; timeDeltas: number[];
  };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  let busy = 0, monitoring = 0;
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)!;
    if (frame.functionName === '(idle)') return;
    busy += profile.timeDeltas[i];
    if (/\/src\/monitor\/|\/node_modules\/prom-client\//.test(frame.url)) monitoring += profile.timeDeltas[i];
  });
  return { share: monitoring / busy, busyMs: busy / 1000 };
}

const seconds = Number(opts.seconds), rounds = Number(opts.rounds);
const profileDir = mkdtempSync(join(tmpdir(), 'meridian-bench-prof-'));
const servers = [await startMeridian('monitoring off', false), await startMeridian('monitoring off (control)', false), await startMeridian('monitoring on', true)];
try {
  console.log(`${opts.path} on ${cpus().length}× ${cpus()[0].model}, ${rounds} rounds of ${seconds} s, 8 connections per server, 3 servers at once`);
  await Promise.all(servers.map((s) => load(s, 1))); // warm all (JIT, tile cache)
  const results = new Map(servers.map((s) => [s.name, [] as Awaited<ReturnType<typeof load>>[]]));
  for (let i = 0; i < rounds; i++) {
    const order = servers.map((_, k) => servers[(k + i) % servers.length]);
    const answers = await Promise.all(order.map((s) => load(s, seconds)));
    order.forEach((s, k) => results.get(s.name)!.push(answers[k]));
  }
  const table = Object.fromEntries([...results].map(([name, rs]) => {
    const of = (f: 'rps' | 'p50' | 'p99' | 'cpuUs') => median(rs.map((r) => r[f]));
    return [name, { 'req/s': Math.round(of('rps')), 'p50 ms': of('p50'), 'p99 ms': of('p99'), 'server CPU µs/req': Math.round(of('cpuUs')) }];
  }));
  console.table(table);
  const [off, control, on] = servers.map((s) => table[s.name]);
  const pct = (x: number, y: number) => `${y >= x ? '+' : ''}${((100 * (y - x)) / x).toFixed(1)}%`;
  console.log(`monitoring on vs off:  throughput ${pct(off['req/s'], on['req/s'])}, CPU per request ${pct(off['server CPU µs/req'], on['server CPU µs/req'])}`);
  console.log(`control vs off (noise): throughput ${pct(off['req/s'], control['req/s'])}, CPU per request ${pct(off['server CPU µs/req'], control['server CPU µs/req'])}`);
} finally {
  for (const s of servers) s.proc.kill();
}
const profiled = await startMeridian('monitoring on, profiled', true, profileDir);
await load(profiled, 1);
await load(profiled, 2 * seconds);
// SIGINT lets the server stop gracefully, which writes its profile.
await new Promise((r) => { profiled.proc.once('exit', r); profiled.proc.kill('SIGINT'); });
const { share, busyMs } = monitoringShare(profileDir);
console.log(`monitoring code in the monitoring server's profile: ${(100 * share).toFixed(2)}% of ${Math.round(busyMs)} ms busy main-thread time`);
rmSync(profileDir, { recursive: true, force: true });
