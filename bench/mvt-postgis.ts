// The PostGIS baseline: ST_AsMVT(ST_AsMVTGeom(...)) over a table in EPSG:3857 with a GiST index,
// the query Martin and pg_tileserv issue. Data is loaded once with GDAL's ogr2ogr (gdal-bin).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { TileId } from './mvt-data.js';

export const POSTGIS_HOWTO = `PostGIS row skipped: set MERIDIAN_BENCH_PG_URL to a database with PostGIS. From Debian packages:
  apt-get install -y postgresql-15-postgis-3 gdal-bin
  mkdir -p /tmp/meridian-pg && chown postgres /tmp/meridian-pg
  su postgres -c "/usr/lib/postgresql/15/bin/initdb -D /tmp/meridian-pg/data -A trust && \\
    /usr/lib/postgresql/15/bin/pg_ctl -D /tmp/meridian-pg/data -o '-p 55432 -k /tmp/meridian-pg' -l /tmp/meridian-pg/log start && \\
    createdb -h /tmp/meridian-pg -p 55432 bench && psql -h /tmp/meridian-pg -p 55432 -d bench -c 'create extension postgis'"
  MERIDIAN_BENCH_PG_URL=postgresql://postgres@localhost:55432/bench npm run bench:mvt`;

/** GDAL's PG: connection string (libpq keywords) for a postgresql:// URL. */
function gdalConnection(url: string): string {
  const u = new URL(url);
  const parts = [`dbname=${u.pathname.slice(1)}`, `host=${u.hostname}`, `port=${u.port || 5432}`];
  if (u.username) parts.push(`user=${decodeURIComponent(u.username)}`);
  if (u.password) parts.push(`password=${decodeURIComponent(u.password)}`);
  return `PG:${parts.join(' ')}`;
}

/**
 * Loads `file` into `table` unless already there: ogr2ogr into a staging table in EPSG:4326, then
 * SQL clips to the Web Mercator square with ST_ClipByBox2D (which, unlike ogr2ogr -clipsrc, keeps
 * features whose rings self-intersect, as a few in Natural Earth do) and transforms to EPSG:3857.
 */
async function ensureTable(client: pg.Client, url: string, file: string, table: string, features: number): Promise<number> {
  const existing = await client.query(`SELECT count(*)::int AS n FROM ${table}`).catch(() => null);
  if (existing?.rows[0].n === features) return 0;
  const started = performance.now();
  execFileSync('ogr2ogr', [
    '-f', 'PostgreSQL', gdalConnection(url), file, '-nln', `${table}_src`, '-overwrite', '-nlt', 'PROMOTE_TO_MULTI',
    '-lco', 'GEOMETRY_NAME=geom', '-lco', 'FID=fid', '-lco', 'SPATIAL_INDEX=NONE', '-gt', '65536',
  ], { stdio: 'inherit', env: { ...process.env, OGR_GEOJSON_MAX_OBJ_SIZE: '0' } });
  await client.query(`DROP TABLE IF EXISTS ${table}`);
  await client.query(`CREATE TABLE ${table} AS SELECT *, ST_Transform(ST_ClipByBox2D(geom,
    ST_MakeEnvelope(-180, -85.0511, 180, 85.0511, 4326)), 3857) AS geom3857 FROM ${table}_src`);
  await client.query(`ALTER TABLE ${table} DROP COLUMN geom`);
  await client.query(`ALTER TABLE ${table} RENAME COLUMN geom3857 TO geom`);
  await client.query(`CREATE INDEX ON ${table} USING gist (geom)`);
  await client.query(`DROP TABLE ${table}_src`);
  await client.query(`ANALYZE ${table}`);
  return performance.now() - started;
}

export interface PostgisResult {
  loadMs: number; ms: number[]; bytes: number; timeouts: number; backendPeakRssMB: number | null;
  /** A trivial prepared query's round trip, once per tile: the wire and protocol share of each tile's time. */
  floorMs: number[];
}

export const STATEMENT_TIMEOUT_MS = 15_000;
/**
 * ST_AsMVTGeom over the 10 m countries below z6 can run for minutes in GEOS, where the
 * statement timeout cannot interrupt it; PostGIS is measured from this zoom on (and the others
 * are compared on the same tiles).
 */
export const POSTGIS_MIN_ZOOM = 6;

export async function runPostgis(url: string, file: string, table: string, features: number, attributes: string[], tiles: TileId[]): Promise<PostgisResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const loadMs = await ensureTable(client, url, file, table, features);
    const cols = attributes.map((a) => `"${a.toLowerCase()}"`).join(', ');
    // Buffer 205 of 4096 = the 5 % padding Meridian clips with.
    const sql = `SELECT ST_AsMVT(q, 'layer', 4096, 'geom', 'fid') AS mvt FROM (
      SELECT fid, ${cols}, ST_AsMVTGeom(geom, ST_TileEnvelope($1, $2, $3), 4096, 205, true) AS geom
      FROM ${table} WHERE geom && ST_TileEnvelope($1, $2, $3, margin => 0.05)) q`;
    const ms: number[] = [];
    let bytes = 0, timeouts = 0;
    // Low-zoom tiles over millions of vertices can take PostGIS minutes: cap them, count them.
    await client.query(`SET statement_timeout = ${STATEMENT_TIMEOUT_MS}`);
    for (const t of tiles) {
      const started = performance.now();
      try {
        const r = await client.query({ name: `mvt_${table}`, text: sql, values: [t.z, t.x, t.y] });
        bytes += (r.rows[0].mvt as Buffer).length;
      } catch (e) {
        if ((e as { code?: string }).code !== '57014') throw e; // query_canceled
        timeouts++;
      }
      ms.push(performance.now() - started);
    }
    const floorMs: number[] = [];
    for (const t of tiles) {
      const started = performance.now();
      await client.query({ name: 'floor', text: 'SELECT $1::int AS z', values: [t.z] });
      floorMs.push(performance.now() - started);
    }
    const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    let backendPeakRssMB: number | null = null;
    try { backendPeakRssMB = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024; } catch { /* server on another machine */ }
    return { loadMs, ms, bytes, timeouts, backendPeakRssMB, floorMs };
  } finally {
    await client.end();
  }
}
