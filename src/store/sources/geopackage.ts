// OGC GeoPackage: an SQLite file; geometry blobs are a GP header followed by WKB.
import Database from 'better-sqlite3';
import wkx from 'wkx';
import type { Geometry } from 'geojson';
import { SourceError, type SourceReader } from '../source.js';
import type { FieldDef, FieldType } from '../types.js';

export interface GeoPackageOptions { layer?: string }

function fieldType(sqlType: string): FieldType | null {
  const t = sqlType.toUpperCase();
  if (/^(TINYINT|SMALLINT|MEDIUMINT|BOOLEAN)/.test(t)) return 'INTEGER';
  if (/^INT/.test(t)) return 'BIGINT';
  if (/^(REAL|DOUBLE|FLOAT)/.test(t)) return 'REAL';
  if (/^DATETIME/.test(t)) return 'DATETIME';
  if (/^DATE/.test(t)) return 'DATE';
  if (/^(TEXT|VARCHAR|CHAR)/.test(t)) return 'STRING';
  return null; // BLOB and geometry columns are not attributes
}

/** Strips the GeoPackage binary header (ISO 12-7.3) and decodes the WKB that follows. */
export function decodeGpkgGeometry(blob: Buffer | null): Geometry | null {
  if (!blob || blob.length < 8 || blob[0] !== 0x47 || blob[1] !== 0x50) return null;
  const flags = blob[3];
  if (flags & 0x10) return null; // empty geometry
  const envelopeBytes = [0, 32, 48, 48, 64][(flags >> 1) & 0x07] ?? 0;
  return wkx.Geometry.parse(blob.subarray(8 + envelopeBytes)).toGeoJSON() as Geometry;
}

export async function openGeoPackage(path: string, options: GeoPackageOptions = {}): Promise<SourceReader> {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.prepare('SELECT 1 FROM gpkg_contents LIMIT 1').get();
  } catch (e) {
    throw new SourceError(`not a GeoPackage: ${(e as Error).message}`);
  }
  const layer = db.prepare(
    `SELECT c.table_name AS name, g.column_name AS geom, g.srs_id AS srs,
            s.organization AS org, s.organization_coordsys_id AS code, s.definition AS def
       FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name
       LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id
      WHERE c.data_type = 'features' AND (? IS NULL OR c.table_name = ?) ORDER BY c.table_name LIMIT 1`,
  ).get(options.layer ?? null, options.layer ?? null) as
    { name: string; geom: string; srs: number; org: string | null; code: number | null; def: string | null } | undefined;
  if (!layer) {
    db.close();
    throw new SourceError(options.layer ? `no feature table "${options.layer}"` : 'no feature table');
  }
  const columns = db.prepare(`SELECT name, type, pk FROM pragma_table_info(?)`).all(layer.name) as { name: string; type: string; pk: number }[];
  const pk = columns.find((c) => c.pk)?.name;
  const fields: FieldDef[] = columns
    .filter((c) => c.name !== pk && c.name !== layer.geom)
    .flatMap((c) => { const t = fieldType(c.type); return t ? [{ keyname: c.name, datatype: t }] : []; });
  const crs = layer.org?.toUpperCase() === 'EPSG' && layer.code ? layer.code : layer.def && layer.def !== 'undefined' ? layer.def : 4326;
  const quote = (n: string) => `"${n.replace(/"/g, '""')}"`;
  const select = db.prepare(
    `SELECT ${[pk ? `${quote(pk)} AS __fid` : 'rowid AS __fid', `${quote(layer.geom)} AS __geom`, ...fields.map((f) => quote(f.keyname))].join(', ')}
       FROM ${quote(layer.name)} ORDER BY __fid`,
  ).safeIntegers(false);
  return {
    crs,
    fields,
    features: (async function* () {
      try {
        for (const row of select.iterate() as Iterable<Record<string, unknown>>) {
          const { __fid, __geom, ...properties } = row;
          yield { id: __fid, geometry: decodeGpkgGeometry(__geom as Buffer | null), properties };
        }
      } finally {
        db.close();
      }
    })(),
  };
}
