// `npm run bench:mvt [-- --quick] [-- --runs N]`: MVT tiles from Meridian (cold and warm, over HTTP)
// against naive geojson-vt + vt-pbf, PostGIS ST_AsMVT (when MERIDIAN_BENCH_PG_URL is set) and, for
// warm throughput, a bare node:http server answering the same bytes. All on one fixed tile set, one
// run; the cold passes of a running server, of Meridian's core and of naive are each made in N
// processes (default 3, --quick 1) and taken per tile as the median of the N.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { HttpClient } from './http-client.js';
import { COUNTRIES, otherTiles, pointsFile, summarize, tileSet, WORK_DIR, type TileId } from './mvt-data.js';
import { POSTGIS_HOWTO, POSTGIS_MIN_ZOOM, runPostgis, STATEMENT_TIMEOUT_MS } from './mvt-postgis.js';
import { median } from './stats.js';

const ROOT = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const POINTS = quick ? 200_000 : 1_000_000;
const THROUGHPUT_MS = quick ? 1500 : 4000;
const runsFlag = process.argv.indexOf('--runs');
/** Processes per cold pass of a running server, the core and naive: one pass on a 2-vCPU VM moves a lot. */
const RUNS = runsFlag > 0 ? Math.max(1, Number(process.argv[runsFlag + 1]) || 1) : quick ? 1 : 3;
/** Warm throughput alternates between Meridian and the bare server this many times, so both see the same load. */
const ROUNDS = 4;
const CONCURRENCY = 8;

interface Dataset { name: string; file: string; features: number; attributes: string[]; table: string }

const log = (...a: unknown[]) => console.error('[bench]', ...a);

async function freePort(): Promise<number> {
  return new Promise((ok) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => ok(p)); }); });
}

interface Answer { status: number; body: Buffer; etag: string; serverMs: number }

/** One keep-alive connection per server (bench/http-client.ts), the same client for every HTTP row. */
const clients = new Map<string, HttpClient>();

async function request(url: string): Promise<Answer> {
  const { port, pathname, search } = new URL(url);
  let client = clients.get(port);
  if (!client) clients.set(port, (client = new HttpClient(Number(port))));
  const a = await client.get(pathname + search);
  // Meridian's own time on the request (Server-Timing: app;dur=ms), without the network's.
  const serverMs = Number(/app;dur=([\d.]+)/.exec(a.headers.get('server-timing') ?? '')?.[1] ?? NaN);
  return { status: a.status, body: a.body, etag: a.headers.get('etag') ?? '', serverMs };
}

/**
 * Runs the client's own code until V8 has optimized it, against a server in this process, so the
 * first timed requests do not pay for the client's warm-up.
 */
async function warmUpClient(): Promise<void> {
  const body = Buffer.alloc(1000);
  const server = createHttpServer((_req, res) => res.end(body));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  for (let i = 0; i < 2000; i++) await request(`${base}/warm-up`);
  clients.get(new URL(base).port)!.close();
  server.close();
}

function peakRssMB(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try { if ((await request(url)).status < 500) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Requests each path once, one at a time; returns per-request ms and the answers. */
async function sequential(base: string, paths: string[]) {
  const ms: number[] = [];
  const answers: Answer[] = [];
  for (const p of paths) {
    const started = performance.now();
    answers.push(await request(base + p));
    ms.push(performance.now() - started);
  }
  return { ms, answers };
}

/**
 * wrk (Debian package wrk), when installed, drives the warm rounds: a C client keeps the server's
 * core busy, where Node clients saturate first (near 20,000 requests/s here) and flatter the slower
 * server. Without it, CONCURRENCY Node clients do.
 */
const WRK = spawnSync('wrk', ['--version']).error ? null : 'wrk';
const warmClient = WRK ? `wrk, 1 thread, ${CONCURRENCY} connections` : `${CONCURRENCY} keep-alive connections of bench/http-client.ts`;

/** Requests/s of wrk cycling through `paths` for `ms`; fails on any answer other than 2xx/3xx. */
async function wrkThroughput(base: string, paths: string[], ms: number): Promise<number> {
  const script = join(WORK_DIR, 'wrk-paths.lua');
  writeFileSync(script, `local paths = ${JSON.stringify(paths).replace(/^\[/, '{').replace(/\]$/, '}')}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], { ["Accept-Encoding"] = "identity" })
end
`);
  const out = await output(spawn(WRK!, ['-t1', `-c${CONCURRENCY}`, `-d${Math.max(1, Math.round(ms / 1000))}s`, '-s', script, base], { stdio: ['ignore', 'pipe', 'inherit'] }));
  if (/Non-2xx or 3xx responses/.test(out)) throw new Error(`wrk saw failed answers:\n${out}`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
}

/** Requests/s with CONCURRENCY clients cycling through `paths` for `ms` (wrk when installed). */
async function throughput(base: string, paths: string[], ms: number): Promise<number> {
  if (WRK) return wrkThroughput(base, paths, ms);
  let done = 0;
  const until = performance.now() + ms;
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, c) => {
    const client = new HttpClient(Number(new URL(base).port));
    try {
      for (let i = c; performance.now() < until; i += CONCURRENCY) {
        const r = await client.get(paths[i % paths.length]);
        if (r.status >= 300 && r.status !== 204) throw new Error(`${paths[i % paths.length]}: ${r.status}`);
        done++;
      }
    } finally {
      client.close();
    }
  }));
  return done / (ms / 1000);
}

/**
 * Warm throughput of Meridian and of the bare server in alternating rounds (the machine may be
 * shared), after one round each that is not counted (steady state: code optimized, caches and
 * heap settled). Their mean req/s, and the median of the per-round ratios.
 */
async function alternating(meridianBase: string, bareBase: string, paths: string[]) {
  for (const base of [meridianBase, bareBase]) await throughput(base, paths, THROUGHPUT_MS / ROUNDS);
  const m: number[] = [], b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    m.push(await throughput(meridianBase, paths, THROUGHPUT_MS / ROUNDS));
    b.push(await throughput(bareBase, paths, THROUGHPUT_MS / ROUNDS));
  }
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const ratios = m.map((v, i) => v / b[i]);
  return { rps: mean(m), bareRps: mean(b), ratio: median(ratios), rounds: ratios };
}

/**
 * Meridian as `npm start` runs it: the build (tsc's output), not tsx, which keeps function names by
 * wrapping every closure it creates (a cost of its own on each tile cut) that the built server has not.
 */
const MAIN = 'dist/src/main.js';

function build(): void {
  log('building Meridian (npm run build), as npm start does');
  const done = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (done.status !== 0) throw new Error('npm run build failed');
}

function runChild(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, MERIDIAN_MANAGEMENT_PORT: 'off', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
}

async function output(child: ChildProcess): Promise<string> {
  let out = '';
  child.stdout!.on('data', (c) => { out += c; });
  await new Promise((r) => child.once('exit', r));
  if (child.exitCode !== 0) throw new Error(`child exited with ${child.exitCode}`);
  return out;
}

/**
 * Runs Meridian on the dataset's file, or (with `pgUrl`) on the table runPostgis loaded, as a
 * postgis_layer: load, prepare, the `warmUp` tiles (none: the cold pass is the process's first
 * requests), cold and warm passes; then `whileUp` with it still serving.
 */
async function meridian<T>(
  ds: Dataset, tiles: TileId[], whileUp: (base: string, paths: string[], answers: Answer[]) => Promise<T>,
  { pgUrl, warmUp = [] }: { pgUrl?: string; warmUp?: TileId[] } = {},
) {
  const dir = join(WORK_DIR, `meridian-${ds.name}${pgUrl ? '-postgis' : ''}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'layer.geojson');
  if (!pgUrl) try { linkSync(ds.file, file); } catch { copyFileSync(ds.file, file); }
  const layer = pgUrl ? { cls: 'postgis_layer', table: ds.table, column_id: 'fid', column_geom: 'geom', fields: 'update' } : { cls: 'vector_layer', source: 'layer.geojson' };
  writeFileSync(join(dir, 'catalog.json'), JSON.stringify({ resources: [{ id: 1, parent: 0, display_name: ds.name, ...layer }] }));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = runChild([MAIN], {
    PORT: String(port), HOST: '127.0.0.1', MERIDIAN_DATA: dir, MERIDIAN_STYLES: dir, LOG_LEVEL: 'warn', ...(pgUrl ? { MERIDIAN_DATABASE_URL: pgUrl } : {}),
  });
  try {
    // Loading ends when the layer answers; preparation for tiles (done ahead, in a worker) when a tile does.
    await waitFor(`${base}/api/resource/1/feature_count`, child);
    const loaded = performance.now();
    // A non-empty tile outside the set (its padding differs) waits for the preparation to finish
    // (a PostGIS layer has none: each tile reads and prepares its own window).
    if (!pgUrl) await request(`${base}/api/resource/1/0/0/0.mvt?padding=0.01`);
    const prepared = performance.now();
    const pathOf = (t: TileId) => `/api/resource/1/${t.z}/${t.x}/${t.y}.mvt`;
    await sequential(base, warmUp.map(pathOf));
    const paths = tiles.map(pathOf);
    const cold = await sequential(base, paths);
    const warm = await sequential(base, paths);
    const bad = cold.answers.filter((a) => a.status !== 200 && a.status !== 204);
    if (bad.length) throw new Error(`Meridian answered ${bad[0].status}: ${bad[0].body}`);
    const alongside = await whileUp(base, paths, cold.answers);
    return {
      loadMs: loaded - started, prepareMs: prepared - loaded, cold: cold.ms, warm: warm.ms, alongside,
      coldServer: cold.answers.map((a) => a.serverMs),
      bytes: cold.answers.reduce((a, r) => a + r.body.length, 0), peakRssMB: peakRssMB(child.pid!),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

/** The bare server on Meridian's answers: its sequential latency (the HTTP floor per tile), and warm throughput against Meridian's. */
async function bare(meridianBase: string, paths: string[], answers: Answer[]) {
  const dir = join(WORK_DIR, 'bare');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const manifest: Record<string, { file: string | null; etag: string }> = {};
  paths.forEach((p, i) => {
    const file = answers[i].status === 200 ? join(dir, `${i}.mvt`) : null;
    if (file) writeFileSync(file, answers[i].body);
    manifest[p] = { file, etag: answers[i].etag };
  });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const child = runChild(['--import', 'tsx', 'bench/bare-server.ts', join(dir, 'manifest.json')]);
  const port = await new Promise<string>((ok) => child.stdout!.once('data', (c) => ok(String(c).trim())));
  try {
    const base = `http://127.0.0.1:${port}`;
    await sequential(base, paths);
    const { ms } = await sequential(base, paths);
    return { ms, ...await alternating(meridianBase, base, paths) };
  } finally {
    child.kill();
  }
}

/** Meridian's tiling core in one process, as the naive baseline runs (bench/mvt-core.ts). */
async function core(ds: Dataset, tilesFile: string) {
  return JSON.parse(await output(runChild(['--import', 'tsx', 'bench/mvt-core.ts', ds.file, tilesFile]))) as {
    loadMs: number; prepareMs: number; ms: number[]; bytes: number; peakRssMB: number;
  };
}

async function naive(ds: Dataset, tilesFile: string) {
  return JSON.parse(await output(runChild(['--import', 'tsx', 'bench/mvt-naive.ts', ds.file, tilesFile]))) as {
    parseMs: number; indexMs: number; ms: number[]; bytes: number; peakRssMB: number;
  };
}

/**
 * Naive geojson-vt + vt-pbf behind a bare node:http server: the `warmUp` tiles, then each tile asked
 * once, in order (its cold tiles over HTTP).
 */
async function naiveServed(ds: Dataset, tiles: TileId[], warmUp: TileId[] = []): Promise<number[]> {
  const child = runChild(['--import', 'tsx', 'bench/mvt-naive.ts', ds.file, '--serve']);
  try {
    const { port } = JSON.parse(await new Promise<string>((ok) => child.stdout!.once('data', (c) => ok(String(c))))) as { port: number };
    const pathOf = (t: TileId) => `/${t.z}/${t.x}/${t.y}`;
    await sequential(`http://127.0.0.1:${port}`, warmUp.map(pathOf));
    return (await sequential(`http://127.0.0.1:${port}`, tiles.map(pathOf))).ms;
  } finally {
    child.kill();
    await new Promise((r) => child.once('exit', r));
  }
}

/** `run` made `RUNS` times, one after another (each in its own processes). */
async function repeated<T>(run: () => Promise<T>): Promise<T[]> {
  const all: T[] = [];
  for (let i = 0; i < RUNS; i++) all.push(await run());
  return all;
}


/** Per tile, the median of its times over the runs; setup times as their median, peak RSS as the highest. */
function combined<T extends { peakRssMB: number }>(runs: T[], perTile: (keyof T)[], setup: (keyof T)[]): T {
  const out = { ...runs[0], peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)) };
  for (const k of perTile) (out[k] as number[]) = (runs[0][k] as number[]).map((_, i) => median(runs.map((r) => (r[k] as number[])[i])));
  for (const k of setup) (out[k] as number) = median(runs.map((r) => r[k] as number));
  return out;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : '–');

async function main() {
  mkdirSync(WORK_DIR, { recursive: true });
  build();
  await warmUpClient();
  const tiles = tileSet(quick);
  const warmUp = otherTiles(tiles, quick ? 300 : 1000);
  const tilesFile = join(WORK_DIR, 'tiles.json');
  writeFileSync(tilesFile, JSON.stringify(tiles));
  log(`generating ${POINTS} points (seed fixed) if not cached in ${WORK_DIR}`);
  const datasets: Dataset[] = [
    { name: 'countries-land-10m', file: COUNTRIES, features: 250, attributes: ['A3'], table: 'bench_countries10m' },
    { name: `points-${POINTS / 1000}k-uniform`, file: await pointsFile(POINTS, 'uniform'), features: POINTS, attributes: ['id', 'score'], table: `bench_points${POINTS}` },
    { name: `points-${POINTS / 1000}k-places`, file: await pointsFile(POINTS, 'places'), features: POINTS, attributes: ['id', 'score'], table: `bench_places${POINTS}` },
  ];
  const pgUrl = process.env.MERIDIAN_BENCH_PG_URL;
  const rows: string[][] = [];
  const ratios: string[] = [];
  for (const ds of datasets) {
    log(`${ds.name}: ${(statSync(ds.file).size / 1e6).toFixed(0)} MB, ${tiles.length} tiles over z0–z14`);
    log(`${ds.name}: Meridian, then bare node:http with the same bytes beside it`);
    const fresh = await meridian(ds, tiles, (base, paths, answers) => bare(base, paths, answers));
    const floor = fresh.alongside;
    log(`${ds.name}: Meridian again, cold tiles after ${warmUp.length} other tiles (${RUNS}×)`);
    const running = combined(await repeated(() => meridian(ds, tiles, async () => undefined, { warmUp })), ['cold', 'coldServer'], []);
    log(`${ds.name}: Meridian's tiling core in one process (${RUNS}×)`);
    const c = combined(await repeated(() => core(ds, tilesFile)), ['ms'], ['loadMs', 'prepareMs']);
    log(`${ds.name}: naive geojson-vt + vt-pbf (${RUNS}×)`);
    const n = combined(await repeated(() => naive(ds, tilesFile)), ['ms'], ['parseMs', 'indexMs']);
    log(`${ds.name}: naive geojson-vt + vt-pbf behind node:http, fresh, and after the same other tiles (${RUNS}×)`);
    const nFresh = summarize(await naiveServed(ds, tiles));
    const nRunning = summarize(combined(await repeated(async () => ({ ms: await naiveServed(ds, tiles, warmUp), peakRssMB: 0 })), ['ms'], []).ms);
    const freshCold = summarize(fresh.cold), freshServer = summarize(fresh.coldServer), warm = summarize(fresh.warm), nv = summarize(n.ms);
    const cold = summarize(running.cold), coldServer = summarize(running.coldServer), http = summarize(floor.ms), inProcess = summarize(c.ms);
    rows.push([ds.name, 'Meridian cold, fresh process (HTTP)', `load ${f1(fresh.loadMs)} + prepare ${f1(fresh.prepareMs)}`, f1(freshCold.p50), f1(freshCold.p95), f1(fresh.peakRssMB), `${(fresh.bytes / 1e6).toFixed(2)} MB`]);
    rows.push([ds.name, 'Meridian cold, fresh (server time)', '', f1(freshServer.p50), f1(freshServer.p95), '', '']);
    rows.push([ds.name, 'Meridian cold, running (HTTP)', `${warmUp.length} other tiles first`, f1(cold.p50), f1(cold.p95), f1(running.peakRssMB), `${(running.bytes / 1e6).toFixed(2)} MB`]);
    rows.push([ds.name, 'Meridian cold, running (server time)', '', f1(coldServer.p50), f1(coldServer.p95), '', '']);
    rows.push([ds.name, 'Meridian warm (HTTP)', '', f1(warm.p50), f1(warm.p95), '', '']);
    rows.push([ds.name, 'bare node:http, same bytes', '', f1(http.p50), f1(http.p95), '', '']);
    rows.push([ds.name, 'Meridian core, in process', `load ${f1(c.loadMs)} + prepare ${f1(c.prepareMs)}`, f1(inProcess.p50), f1(inProcess.p95), f1(c.peakRssMB), `${(c.bytes / 1e6).toFixed(2)} MB`]);
    rows.push([ds.name, 'geojson-vt + vt-pbf', `parse ${f1(n.parseMs)} + index ${f1(n.indexMs)}`, f1(nv.p50), f1(nv.p95), f1(n.peakRssMB), `${(n.bytes / 1e6).toFixed(2)} MB`]);
    rows.push([ds.name, 'geojson-vt + vt-pbf, node:http, fresh', '(as above)', f1(nFresh.p50), f1(nFresh.p95), '', '']);
    rows.push([ds.name, 'geojson-vt + vt-pbf, node:http, running', `${warmUp.length} other tiles first`, f1(nRunning.p50), f1(nRunning.p95), '', '']);
    const compare = (what: string, a: { p50: number; p95: number }, b: { p50: number; p95: number }, note: string) =>
      ratios.push(`${ds.name}: ${what} = ${f1(a.p50 / b.p50)}× at p50, ${f1(a.p95 / b.p95)}× at p95 (${note})`);
    compare('naive in process / Meridian core in process', nv, inProcess, 'like for like: one process, one tile after another');
    compare('naive in process / Meridian cold server time, running', nv, coldServer, 'both without the network');
    compare('naive in process / Meridian cold over HTTP, running', nv, cold, `Meridian with one HTTP round trip, whose bare node:http floor is p50 ${f1(http.p50)} ms`);
    compare('naive behind node:http / Meridian cold over HTTP, both running', nRunning, cold, 'same client, first request per tile');
    compare('naive behind node:http / Meridian cold over HTTP, both fresh', nFresh, freshCold, 'same client, the processes\' first requests');
    // Per tile with each one's up-front work (index build / preparation) spread over the tile set.
    const amortized = (setup: number, total: number) => (setup + total) / tiles.length;
    ratios.push(`${ds.name}: per tile incl. setup spread over the set: naive ${f1(amortized(n.indexMs, nv.total))} ms (index), Meridian ${f1(amortized(fresh.prepareMs, freshCold.total))} ms (prepare, fresh) = ${f1(amortized(n.indexMs, nv.total) / amortized(fresh.prepareMs, freshCold.total))}×`);
    if (pgUrl) {
      log(`${ds.name}: PostGIS ST_AsMVT`);
      const subset = tiles.map((t, i) => (t.z >= POSTGIS_MIN_ZOOM ? i : -1)).filter((i) => i >= 0);
      const p = await runPostgis(pgUrl, ds.file, ds.table, ds.features, ds.attributes, subset.map((i) => tiles[i]));
      const pick = (ms: number[]) => summarize(subset.map((i) => ms[i]));
      const pv = summarize(p.ms), pgFloor = summarize(p.floorMs), nSub = pick(n.ms);
      const mSub = pick(running.cold), mServerSub = pick(running.coldServer), cSub = pick(c.ms), httpSub = pick(floor.ms);
      // The like-for-like comparison on the PostGIS subset: each contender's own time, then with its wire.
      const z = `z${POSTGIS_MIN_ZOOM}+`;
      rows.push([ds.name, `PostGIS ST_AsMVT (${z})`, p.loadMs ? `ogr2ogr ${f1(p.loadMs)}` : '(table cached)', f1(pv.p50), f1(pv.p95),
        p.backendPeakRssMB === null ? '–' : `${f1(p.backendPeakRssMB)} (backend)`, `${(p.bytes / 1e6).toFixed(2)} MB`]);
      rows.push([ds.name, `PostgreSQL round trip (${z})`, '(SELECT $1 per tile)', f1(pgFloor.p50), f1(pgFloor.p95), '', '']);
      rows.push([ds.name, `Meridian core, in process (${z})`, '', f1(cSub.p50), f1(cSub.p95), '', '']);
      rows.push([ds.name, `Meridian cold, running, server time (${z})`, '', f1(mServerSub.p50), f1(mServerSub.p95), '', '']);
      rows.push([ds.name, `Meridian cold, running (HTTP) (${z})`, '', f1(mSub.p50), f1(mSub.p95), '', '']);
      rows.push([ds.name, `bare node:http (${z})`, '', f1(httpSub.p50), f1(httpSub.p95), '', '']);
      log(`${ds.name}: Meridian over the same table (postgis_layer)`);
      const mp = await meridian(ds, subset.map((i) => tiles[i]), async () => undefined, { pgUrl });
      const mpv = summarize(mp.cold);
      rows.push([ds.name, `Meridian postgis_layer (z${POSTGIS_MIN_ZOOM}+)`, '', f1(mpv.p50), f1(mpv.p95), f1(mp.peakRssMB), `${(mp.bytes / 1e6).toFixed(2)} MB`]);
      ratios.push(`${ds.name}: on the same tiles: Meridian postgis_layer p50 ${f1(mpv.p50)} / PostGIS ST_AsMVT p50 ${f1(pv.p50)} = ${f1(mpv.p50 / pv.p50)}×, p95 ${f1(mpv.p95 / pv.p95)}×; / Meridian file p50 ${f1(mpv.p50 / mSub.p50)}×`);
      if (p.timeouts) ratios.push(`${ds.name}: PostGIS: ${p.timeouts} tiles hit the ${STATEMENT_TIMEOUT_MS} ms statement timeout (counted at that time)`);
      const vs = (label: string, s: { p50: number; p95: number }, note: string) =>
        ratios.push(`${ds.name}: ${z} (${subset.length} tiles): PostGIS ST_AsMVT p50 ${f1(pv.p50)} / ${label} p50 ${f1(s.p50)} = ${f1(pv.p50 / s.p50)}×, p95 ${f1(pv.p95 / s.p95)}× (${note})`);
      const wire = `ST_AsMVT's time includes one local round trip to PostgreSQL, p50 ${f1(pgFloor.p50)} ms`;
      vs('Meridian core in process', cSub, `like for like on the engine: ${wire}, the core has none`);
      vs('Meridian cold server time (running)', mServerSub, `${wire}; Meridian's includes its request handling and the worker pool, not the network`);
      vs('Meridian cold over HTTP (running)', mSub, `${wire}; Meridian's one HTTP round trip, whose bare node:http floor is p50 ${f1(httpSub.p50)} ms`);
      ratios.push(`${ds.name}: ${z}: naive geojson-vt + vt-pbf p50 there ${f1(nSub.p50)} ms`);
    }
    ratios.push(`${ds.name}: warm throughput ${f1(floor.rps)} req/s vs bare node:http ${f1(floor.bareRps)} req/s: ${f1(floor.ratio)} of bare (median of ${ROUNDS} alternating rounds: ${floor.rounds.map(f1).join(', ')}; ${warmClient})`);
  }
  console.log(`\nMVT benchmark${quick ? ' (--quick)' : ''} — ${tiles.length} tiles per dataset over z0–z14; ${cpus().length}× ${cpus()[0].model}, ${(totalmem() / 2 ** 30).toFixed(0)} GB, Node ${process.version}`);
  console.log(`Rows marked "running", "core" and the naive ones but "fresh": per tile, the median of ${RUNS} processes' passes.`);
  const header = ['dataset', 'contender', 'setup ms (apart)', 'p50 ms', 'p95 ms', 'peak RSS MB', 'tile bytes'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, widths.map((w) => '-'.repeat(w)), ...rows]) console.log('| ' + r.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |');
  console.log('');
  for (const r of ratios) console.log(r);
  if (!pgUrl) console.log('\n' + POSTGIS_HOWTO);
  for (const c of clients.values()) c.close();
}

if (!existsSync(COUNTRIES)) throw new Error(`dataset missing: ${COUNTRIES} (npm install)`);
await main();
