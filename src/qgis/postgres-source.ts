// A QGIS `postgres` provider datasource (libpq's key='value' words plus QGIS's table="schema"."table"
// (geom) and sql=), and the check that it opens: the database answers within a short timeout and
// the table (and its geometry column) exists. Missing keys fall back on libpq's PG* environment
// variables, as they do for QGIS itself.
import pg from 'pg';

export interface PostgresSource {
  connection: pg.ClientConfig;
  schema: string;
  table: string;
  geometryColumn?: string;
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

export function parsePostgresSource(datasource: string): PostgresSource | null {
  const table = TABLE.exec(datasource);
  if (!table) return null;
  // The table and its SQL filter may hold anything; only the connection words come before them.
  const { words: w } = words(datasource.slice(0, table.index));
  const unquote = (s: string) => s.replace(/""/g, '"');
  const [schema, name] = table[2] === undefined ? ['public', unquote(table[1])] : [unquote(table[1]), unquote(table[2])];
  const port = w.get('port');
  const source: PostgresSource = {
    connection: {
      host: w.get('host') ?? w.get('hostaddr'), port: port ? Number(port) : undefined, database: w.get('dbname'),
      user: w.get('user'), password: w.get('password'),
      ssl: ['require', 'verify-ca', 'verify-full'].includes(w.get('sslmode') ?? '') ? { rejectUnauthorized: w.get('sslmode') !== 'require' } : undefined,
    },
    schema, table: name,
    ...(table[3] ? { geometryColumn: table[3].trim() } : {}),
  };
  if (w.has('service')) source.unsupported = `connection service "${w.get('service')}" (pg_service.conf) is not read by Meridian`;
  if (w.has('authcfg')) source.unsupported = `credentials in QGIS's authentication database (authcfg=${w.get('authcfg')}) are not available to Meridian`;
  return source;
}

/** Why the datasource does not open, or undefined when it does. */
export async function checkPostgresSource(datasource: string, timeoutMs = POSTGRES_CHECK_TIMEOUT_MS): Promise<string | undefined> {
  const source = parsePostgresSource(datasource);
  if (!source) return 'datasource names no table';
  if (source.unsupported) return source.unsupported;
  const client = new pg.Client({ ...source.connection, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  // A server that goes away after connecting emits 'error' on the client; unhandled it would crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    return `database cannot be reached (${(e as Error).message})`;
  }
  try {
    const { rows: [table] } = await client.query<{ found: boolean; readable: boolean; columns: string[] }>(
      `SELECT c.oid IS NOT NULL AS found, c.oid IS NOT NULL AND has_table_privilege(c.oid, 'SELECT') AS readable,
         ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped) AS columns
       FROM (SELECT to_regclass($1)::oid AS oid) c`,
      [`${pg.escapeIdentifier(source.schema)}.${pg.escapeIdentifier(source.table)}`]);
    const name = `table "${source.schema}"."${source.table}"`;
    if (!table.found) return `${name} does not exist`;
    if (!table.readable) return `${name} cannot be read by user "${client.user}"`;
    if (source.geometryColumn && !table.columns.includes(source.geometryColumn)) return `${name} has no column "${source.geometryColumn}"`;
    return undefined;
  } catch (e) {
    return `table "${source.schema}"."${source.table}" cannot be read (${(e as Error).message})`;
  } finally {
    await client.end().catch(() => {});
  }
}
