// PostgreSQL in tests: the server scripts/pg-test-server.sh starts (MERIDIAN_TEST_PG_URL), a schema
// per test file for Meridian's shared state, and a relay the test can cut to stand for a database
// that goes away (see relay.ts; the cluster itself is shared with other test runs, so it is never stopped),
// and copies of a served layer as PostGIS tables.
import type { Socket } from 'node:net';
import pg from 'pg';
import type { TestServer } from './server.js';

export const PG_URL = process.env.MERIDIAN_TEST_PG_URL;
export const PG_SKIP = PG_URL ? false : 'MERIDIAN_TEST_PG_URL is not set: run scripts/pg-test-server.sh to test against PostgreSQL';

/** A connection to the test server with `schema` made afresh (dropped first if a killed run left it). */
export async function freshSchema(schema: string): Promise<pg.Client> {
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  return db;
}

/** Drops the schema `freshSchema` made and closes its connection. */
export async function dropSchema(db: pg.Client | undefined, schema: string): Promise<void> {
  await db?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db?.end();
}

/** `url` whose connections create and find unqualified tables in `schema` first (PostGIS stays reachable in public). */
export function inSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema},public`);
  return u.href;
}

/**
 * A running count of the bytes `pool`'s connections read from the server (what crossed the wire:
 * rows, and the protocol around them). Counts connections opened after the call, so call it first.
 */
export function countBytesRead(pool: pg.Pool): () => number {
  let total = 0;
  pool.on('connect', (client) => {
    // pg's Connection keeps its socket as `stream`, absent from its type definitions.
    (client as unknown as { connection: { stream: Socket } }).connection.stream.on('data', (chunk: Buffer) => { total += chunk.length; });
  });
  return () => total;
}

/** `url` with its port replaced (to go through a Relay). */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.href;
}

/** `url` with server settings for its sessions (libpq's `options`, e.g. `-c DateStyle=SQL`). */
export function withOptions(url: string, options: string): string {
  const u = new URL(url);
  u.searchParams.set('options', options);
  return u.href;
}

const SQL_TYPES: Record<string, string> = {
  INTEGER: 'integer', BIGINT: 'bigint', REAL: 'float8', STRING: 'text', DATE: 'date', TIME: 'time', DATETIME: 'timestamp',
};

/** Copies layer `id` as server `from` exports it (fids, typed fields, EPSG:4326 geometry) into table schema.name, keyed by fid. */
export async function copyLayer(db: pg.Client, from: TestServer, id: number, schema: string, name: string): Promise<void> {
  const fields: { keyname: string; datatype: string }[] = (await from.json(`/api/resource/${id}`)).body.feature_layer.fields;
  const { features } = (await from.json(`/api/resource/${id}/geojson`)).body;
  const columns = fields.map((f) => `${pg.escapeIdentifier(f.keyname)} ${SQL_TYPES[f.datatype]}`);
  await db.query(`CREATE TABLE ${schema}.${name} (fid integer PRIMARY KEY, ${columns.join(', ')}, geom geometry(Geometry, 4326))`);
  const values = fields.map((_, k) => `$${k + 2}`);
  for (const f of features) {
    await db.query(`INSERT INTO ${schema}.${name} VALUES ($1, ${values.join(', ')}, ST_SetSRID(ST_GeomFromGeoJSON($${fields.length + 2}), 4326))`,
      [f.id, ...fields.map((d) => f.properties[d.keyname]), JSON.stringify(f.geometry)]);
  }
  await db.query(`CREATE INDEX ON ${schema}.${name} USING gist (geom)`);
}
