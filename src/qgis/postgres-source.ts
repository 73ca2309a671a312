// A QGIS `postgres` provider datasource (libpq's key='value' words plus QGIS's table="schema"."table"
// (geom) and sql=), and the check that it opens: the database answers within a short timeout and
// the table (and its geometry column) exists. Missing keys fall back on libpq's PG* environment
// variables, as they do for QGIS itself.
import pg from 'pg';
import { isUnavailable } from '../store/postgis/connections.js';
import type { SourceProblem } from './source-check.js';

export interface PostgresSource {
  connection: pg.ClientConfig;
  schema: string;
  table: string;
  geometryColumn?: string;
  /** QGIS's `key='…'`: the feature id column(s) the author chose (QGIS lists several as `"a","b"`). */
  keyColumns?: string[];
  /** QGIS's `sql=`: the project author's subset filter, an SQL boolean expression on the table; absent when empty. */
  subset?: string;
  /** A pg_service.conf service or a QGIS authentication configuration: neither is readable here. */
  unsupported?: string;
}

/** How long a project load waits for a database before calling the layer bad. */
export const POSTGRES_CHECK_TIMEOUT_MS = 3000;

/** libpq's `key=value` words: values may be single-quoted with \\ escapes. */
function words(datasource: string): { words: Map<string, string>; rest: string } {
  const out = new Map<string, string>();
  const rest = datasource.replace(/(\w+)=(?:'((?:[^'\\]|\\.)*)'|([^\s'"]\S*))/g, (_, key: string, quoted?: string, bare?: string) => {
    out.set(key, quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare!);
    return ' ';
  });
  return { words: out, rest };
}

/** `"schema"."table"` or `"table"`, with "" escaping a quote. */
const QUOTED = '"((?:[^"]|"")*)"';
const TABLE = new RegExp(`\\btable=${QUOTED}(?:\\.${QUOTED})?(?:\\s*\\(([^)]*)\\))?`);

/** `fid`, `"fid"` or `"a","b"`: the columns of QGIS's key word. */
function keyColumns(key: string): string[] {
  const quoted = [...key.matchAll(new RegExp(QUOTED, 'g'))].map((m) => m[1].replace(/""/g, '"'));
  return quoted.length ? quoted : [key.trim()];
}

export function parsePostgresSource(datasource: string): PostgresSource | null {
  const table = TABLE.exec(datasource);
  if (!table) return null;
  // The table and its SQL filter may hold anything; only the connection words come before them.
  const { words: w } = words(datasource.slice(0, table.index));
  const unquote = (s: string) => s.replace(/""/g, '"');
  const [schema, name] = table[2] === undefined ? ['public', unquote(table[1])] : [unquote(table[1]), unquote(table[2])];
  // QGIS writes sql= last: everything after it is the filter, quotes and spaces included.
  const subset = /(?:^|\s)sql=([\s\S]*)$/.exec(datasource.slice(table.index + table[0].length))?.[1].trim();
  const key = w.get('key');
  const port = w.get('port');
  const source: PostgresSource = {
    connection: {
      host: w.get('host') ?? w.get('hostaddr'), port: port ? Number(port) : undefined, database: w.get('dbname'),
      user: w.get('user'), password: w.get('password'),
      ssl: ['require', 'verify-ca', 'verify-full'].includes(w.get('sslmode') ?? '') ? { rejectUnauthorized: w.get('sslmode') !== 'require' } : undefined,
    },
    schema, table: name,
    ...(table[3] ? { geometryColumn: table[3].trim() } : {}),
    ...(key ? { keyColumns: keyColumns(key) } : {}),
    ...(subset ? { subset } : {}),
  };
  if (w.has('service')) source.unsupported = `connection service "${w.get('service')}" (pg_service.conf) is not read by Meridian`;
  if (w.has('authcfg')) source.unsupported = `credentials in QGIS's authentication database (authcfg=${w.get('authcfg')}) are not available to Meridian`;
  return source;
}

/** Why the datasource does not open, or undefined when it does. */
export async function checkPostgresSource(datasource: string, timeoutMs = POSTGRES_CHECK_TIMEOUT_MS): Promise<SourceProblem | undefined> {
  const source = parsePostgresSource(datasource);
  if (!source) return { reason: 'datasource names no table' };
  if (source.unsupported) return { reason: source.unsupported };
  const client = new pg.Client({ ...source.connection, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  // A server that goes away after connecting emits 'error' on the client; unhandled it would crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    return { reason: `database cannot be reached (${(e as Error).message})`, unreachable: isUnavailable(e) };
  }
  try {
    const { rows: [table] } = await client.query<{ found: boolean; readable: boolean; columns: string[] }>(
      `SELECT c.oid IS NOT NULL AS found, c.oid IS NOT NULL AND has_table_privilege(c.oid, 'SELECT') AS readable,
         ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped) AS columns
       FROM (SELECT to_regclass($1)::oid AS oid) c`,
      [`${pg.escapeIdentifier(source.schema)}.${pg.escapeIdentifier(source.table)}`]);
    const name = `table "${source.schema}"."${source.table}"`;
    if (!table.found) return { reason: `${name} does not exist` };
    if (!table.readable) return { reason: `${name} cannot be read by user "${client.user}"` };
    if (source.geometryColumn && !table.columns.includes(source.geometryColumn)) return { reason: `${name} has no column "${source.geometryColumn}"` };
    return undefined;
  } catch (e) {
    return { reason: `table "${source.schema}"."${source.table}" cannot be read (${(e as Error).message})`, unreachable: isUnavailable(e) };
  } finally {
    await client.end().catch(() => {});
  }
}
