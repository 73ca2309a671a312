// A temporary projects root holding the QGIS-written fixtures as projects/ and data/, so the
// projects' relative datasources (../data/…) resolve inside it; variants of world110.qgs whose layer
// reads another datasource.
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QGIS_FIXTURES } from './server.js';

export function tempProjectsRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'meridian-projects-'));
  cpSync(join(QGIS_FIXTURES, 'projects'), join(root, 'projects'), { recursive: true });
  cpSync(join(QGIS_FIXTURES, 'data'), join(root, 'data'), { recursive: true });
  return root;
}

/** world110.qgs with its layer `layerName` read through another provider and datasource, as QGIS writes them. */
export function worldWith(layerName: string, provider: string, datasource: string): string {
  const world = readFileSync(join(QGIS_FIXTURES, 'projects/world110.qgs'), 'utf8');
  const escaped = datasource.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  return world.replace(/<maplayer\b[\s\S]*?<\/maplayer>/g, (layer) => (!layer.includes(`<layername>${layerName}</layername>`) ? layer : layer
    .replace(/<datasource>[^<]*<\/datasource>/, `<datasource>${escaped}</datasource>`)
    .replace('<provider encoding="UTF-8">ogr</provider>', `<provider encoding="UTF-8">${provider}</provider>`)));
}

/**
 * A QGIS postgres datasource for `schema.table` (geometry column geom) reached through `url`, as QGIS
 * writes one: `key` null leaves out key='…', `sql` is the subset filter.
 */
export function postgresDatasource(url: URL, schema: string, table: string, { key = 'fid' as string | null, type = 'Point', sql = '' } = {}): string {
  return `dbname='${url.pathname.slice(1)}' host=${url.hostname} port=${url.port || 5432} user='${decodeURIComponent(url.username)}' `
    + `password='${decodeURIComponent(url.password)}' sslmode=disable ${key === null ? '' : `key='${key}' `}srid=4326 type=${type} `
    + `checkPrimaryKeyUnicity='1' table="${schema}"."${table}" (geom) sql=${sql}`;
}
