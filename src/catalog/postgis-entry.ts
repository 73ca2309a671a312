// A postgis_layer entry as catalog.json declares it, with NextGIS Web's names: connection, schema,
// table, column_id, column_geom, fields ("update": field definitions are read from the table).
import { DEFAULT_CONNECTION } from '../store/postgis/connections.js';
import type { TableAddress } from '../store/postgis/table.js';
import type { ResourceEntry } from './types.js';

export interface PostgisSource extends TableAddress {
  /** A connection name from the config; "default" is MERIDIAN_DATABASE_URL. */
  connection: string;
}

/** The entry's table address; throws an Error naming the bad key. */
export function postgisSource(e: ResourceEntry): PostgisSource {
  const text = (key: string, fallback?: string): string => {
    const v = e[key] ?? fallback;
    if (typeof v !== 'string' || !v) throw new Error(`a postgis_layer needs "${key}" (a name)`);
    return v;
  };
  if (e.fields !== undefined && e.fields !== 'update') throw new Error('"fields" must be "update" (fields are read from the table)');
  // NGW writes the connection as a resource reference {id}; Meridian's connections are named in the config.
  const connection = e.connection === undefined ? DEFAULT_CONNECTION : e.connection;
  if (typeof connection !== 'string' || !connection) throw new Error('"connection" must be the name of a configured connection');
  return {
    connection, schema: text('schema', 'public'), table: text('table'),
    columnId: text('column_id'), columnGeom: text('column_geom'),
  };
}
