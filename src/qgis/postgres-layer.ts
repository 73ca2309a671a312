// A QGIS project's `postgres` layer served by Meridian's PostGIS store (PostgisLayer): the table and
// geometry column its datasource names, the feature id column from `key='…'` (else the table's
// primary key, as QGIS picks one), its `sql=` subset filter applied, on the pool of the connection
// it names (DatabaseConnections.projectPool: one per connection, whichever projects name it).
import type { DatabaseConnections } from '../store/postgis/connections.js';
import { guarded } from '../store/postgis/connections.js';
import { PostgisLayer } from '../store/postgis/postgis-layer.js';
import { primaryKey } from '../store/postgis/table.js';
import { SourceError } from '../store/source.js';
import { parsePostgresSource } from './postgres-source.js';

/**
 * Opens the layer `name` (as messages name it). A SourceError says why the table cannot be served
 * as the datasource names it; a 503 ApiError that its database cannot be reached.
 */
export async function openPostgresLayer(datasource: string, databases: DatabaseConnections, name: string): Promise<PostgisLayer> {
  const source = parsePostgresSource(datasource);
  if (!source || source.unsupported) throw new SourceError(source?.unsupported ?? 'its datasource names no table');
  const { schema, table, geometryColumn, subset } = source;
  if (!geometryColumn) throw new SourceError('its datasource names no geometry column');
  const db = databases.projectPool(source.connection);
  const key = source.keyColumns ?? await guarded(name, () => primaryKey(db, schema, table), db);
  if (key.length !== 1) {
    throw new SourceError(key.length
      ? `its key has several columns (${key.join(', ')}), and Meridian needs one integer feature id column`
      : `its datasource has no key='…' and table "${schema}"."${table}" no primary key to take as the feature id`);
  }
  return PostgisLayer.open(db, name, { schema, table, columnId: key[0], columnGeom: geometryColumn }, subset);
}
