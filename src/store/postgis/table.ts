// What a PostGIS table looks like to Meridian: its fields as NGW types (with the SQL that reads
// each one in the store's value form), its geometry type and SRID.
import pg from 'pg';
import { SourceError } from '../source.js';
import type { FieldDef, FieldType, GeometryType } from '../types.js';

export interface TableAddress {
  schema: string;
  table: string;
  columnId: string;
  columnGeom: string;
}

export interface TableColumns {
  fields: FieldDef[];
  /** Per field, in order: the SELECT expression reading it (dates as ISO text, numerics as float8). */
  selects: string[];
  /**
   * Per field, in order: the column itself for a float4/float8 one (else null). Its select's CASE,
   * which hides NaN and ±Infinity, also hides the column from the planner: a filter tests the column
   * between the infinities instead, which means the same and which an index on it serves.
   */
  floatColumns: (string | null)[];
  geometryType: GeometryType;
  srid: number;
  /** The geometries carry no SRID (0, as shp2pgsql leaves them without -s): read as EPSG:4326, `srid`. */
  sridMissing: boolean;
  /**
   * The column is not declared of one of GEOMETRY_TYPES (a bare `geometry`): its rows may also hold
   * curves, triangles, TINs or polyhedral surfaces, which neither WKB readers nor ST_AsMVTGeom take.
   */
  untyped: boolean;
}

const id = (name: string) => pg.escapeIdentifier(name);
export const qualified = (t: Pick<TableAddress, 'schema' | 'table'>) => `${id(t.schema)}.${id(t.table)}`;

/**
 * A numeric that no double holds: from this on it rounds to Infinity (2^1024 - 2^970, halfway to
 * 2^1024, ties to even), and one at most 1 / UNDERFLOW (2^-1075) rounds to 0. Exact: powers of 2
 * with a positive exponent are (a negative one is cut to 16 decimals).
 */
const DOUBLE_OVERFLOW = '(2::numeric ^ 1024 - 2::numeric ^ 970)', DOUBLE_UNDERFLOW = '2::numeric ^ 1075';

/** NGW type and read expression of a column of PostgreSQL type `udt`, and the column itself if it is a float one (TableColumns.floatColumns). */
function fieldOf(column: string, udt: string): { datatype: FieldType; select: string; floatColumn?: string } {
  const c = id(column);
  // Years 1–9999 only, which YYYY writes: to_char writes a BC year as the AD one, and fails the
  // query on a date past a timestamp's range (5874897 AD); others read as null, as 'infinity' does.
  const iso = (e: string, format = 'YYYY-MM-DD"T"HH24:MI:SS') =>
    `CASE WHEN ${e} >= '0001-01-01' AND ${e} < '10000-01-01' THEN to_char(${e}, '${format}') END`;
  switch (udt) {
    case 'int2': case 'int4': return { datatype: 'INTEGER', select: c };
    case 'bool': return { datatype: 'INTEGER', select: `${c}::int` };
    case 'int8': return { datatype: 'BIGINT', select: c };
    // NaN and ±Infinity read as null, as the file store reads them and as JSON shows them: a filter,
    // order or search of the column then sees the null the list shows (PostgreSQL ranks NaN above every number).
    case 'float4': case 'float8': return { datatype: 'REAL', select: `CASE WHEN abs(${c}::float8) < 'Infinity' THEN ${c}::float8 END`, floatColumn: c };
    // A numeric past a double's range would fail the cast, and the query with it: read as a file's
    // number is, one too large as null (as Infinity is), one too small as 0; NaN and ±Infinity
    // (above every number here) as null.
    case 'numeric': return { datatype: 'REAL', select: `CASE WHEN abs(${c}) >= ${DOUBLE_OVERFLOW} THEN NULL WHEN abs(${c}) * ${DOUBLE_UNDERFLOW} <= 1 THEN 0 ELSE ${c}::float8 END` };
    // to_char, not ::text, whose form the session's DateStyle sets (SQL: 01/05/2024).
    case 'date': return { datatype: 'DATE', select: iso(c, 'YYYY-MM-DD') };
    case 'time': case 'timetz': return { datatype: 'TIME', select: `${c}::text` };
    case 'timestamp': return { datatype: 'DATETIME', select: iso(c) };
    case 'timestamptz': return { datatype: 'DATETIME', select: iso(`(${c} AT TIME ZONE 'UTC')`) };
    default: return { datatype: 'STRING', select: `${c}::text` };
  }
}

const GEOMETRY_TYPES = new Set<string>(['POINT', 'LINESTRING', 'POLYGON', 'MULTIPOINT', 'MULTILINESTRING', 'MULTIPOLYGON']);

/** Reads the table's columns; a table or column that is not there is the catalog's mistake (SourceError). */
export async function describeTable(db: pg.Pool, t: TableAddress): Promise<TableColumns> {
  const columns = await db.query<{ name: string; udt: string }>(
    `SELECT a.attname AS name, ty.typname AS udt
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type ty ON ty.oid = a.atttypid
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`, [t.schema, t.table]);
  if (!columns.rowCount) throw new SourceError(`table ${t.schema}.${t.table} does not exist`);
  const udtOf = new Map(columns.rows.map((r) => [r.name, r.udt]));
  if (!['int2', 'int4', 'int8'].includes(udtOf.get(t.columnId) ?? '')) {
    throw new SourceError(`column_id "${t.columnId}" must be an integer column of ${t.schema}.${t.table}`);
  }
  if (udtOf.get(t.columnGeom) !== 'geometry') {
    throw new SourceError(`column_geom "${t.columnGeom}" must be a geometry column of ${t.schema}.${t.table}`);
  }
  const fields: FieldDef[] = [];
  const selects: string[] = [];
  const floatColumns: (string | null)[] = [];
  for (const { name, udt } of columns.rows) {
    if (name === t.columnId || name === t.columnGeom) continue;
    const f = fieldOf(name, udt);
    fields.push({ keyname: name, datatype: f.datatype });
    selects.push(f.select);
    floatColumns.push(f.floatColumn ?? null);
  }
  const declared = await db.query<{ type: string; srid: number }>(
    'SELECT upper(type) AS type, srid FROM geometry_columns WHERE f_table_schema = $1 AND f_table_name = $2 AND f_geometry_column = $3',
    [t.schema, t.table, t.columnGeom]);
  const untyped = !GEOMETRY_TYPES.has(declared.rows[0]?.type ?? 'GEOMETRY');
  let type = declared.rows[0]?.type ?? 'GEOMETRY';
  let srid = declared.rows[0]?.srid ?? 0;
  if (untyped || !srid) {
    // A generic geometry column: the first stored geometry tells.
    const first = await db.query<{ type: string; srid: number }>(
      `SELECT upper(GeometryType(${id(t.columnGeom)})) AS type, ST_SRID(${id(t.columnGeom)}) AS srid
         FROM ${qualified(t)} WHERE ${id(t.columnGeom)} IS NOT NULL LIMIT 1`);
    if (!GEOMETRY_TYPES.has(type)) type = first.rows[0]?.type ?? 'POINT';
    if (!srid) srid = first.rows[0]?.srid ?? 0;
  }
  if (!GEOMETRY_TYPES.has(type)) throw new SourceError(`${type} geometries are not supported`);
  return { fields, selects, floatColumns, geometryType: type as GeometryType, srid: srid || 4326, sridMissing: !srid, untyped };
}

/** The columns of the table's primary key, in key order; empty when it has none (or is not a table). */
export async function primaryKey(db: pg.Pool, schema: string, table: string): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = to_regclass($1) AND i.indisprimary
      ORDER BY k.n`, [qualified({ schema, table })]);
  return r.rows.map((row) => row.name);
}
