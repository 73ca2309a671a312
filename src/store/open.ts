// Opens a layer source by its file type and builds the in-memory layer from it.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Logger } from 'pino';
import { buildLayer } from './build.js';
import { asLoad } from './load-garbage.js';
import type { MemoryLayer } from './memory-layer.js';
import { SourceError, type SourceReader } from './source.js';
import { openCsv, type CsvOptions } from './sources/csv.js';
import { openGeoJson } from './sources/geojson.js';
import { openGeoPackage, type GeoPackageOptions } from './sources/geopackage.js';
import { openShapefile } from './sources/shapefile.js';

/** Source options a catalog entry may carry beside `source`. */
export type SourceOptions = CsvOptions & GeoPackageOptions & {
  /** The CRS of a source that does not declare one (CSV, a Shapefile without .prj, GeoJSON without "crs"). */
  srs?: number | string;
};

function reader(path: string, options: SourceOptions): Promise<SourceReader> {
  switch (extname(path).toLowerCase()) {
    case '.geojson': case '.json': return openGeoJson(path);
    case '.csv': return openCsv(path, options);
    case '.shp': case '.zip': return openShapefile(path);
    case '.gpkg': return openGeoPackage(path, options);
    default: throw new SourceError(`unsupported source type "${extname(path)}" (GeoJSON, CSV, Shapefile, zip, GeoPackage)`);
  }
}

/** Reads and builds a layer (what the reading leaves on the heap is collected: see load-garbage.ts). */
export function loadLayer(path: string, options: SourceOptions, name: string, log: Logger): Promise<MemoryLayer> {
  return asLoad(async () => {
    // A missing or unreadable file fails here, the same way for every format (ENOENT, EACCES).
    await access(path, constants.R_OK);
    const source = await reader(path, options);
    if (source.crs === null && options.srs !== undefined) source.crs = options.srs;
    return buildLayer(source, name, log);
  }, log);
}
