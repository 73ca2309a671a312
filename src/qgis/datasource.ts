// Where a QGIS layer's data lives, from its provider and datasource string, resolved as QGIS does:
// relative paths against the project's folder.
import { isAbsolute, resolve } from 'node:path';
import type { SourceOptions } from '../store/open.js';

export interface LayerSource {
  /** Absolute path of the file the provider reads; null for non-file providers (databases, services). */
  path: string | null;
  /** Options for Meridian's layer store (GeoPackage table, CSV columns). */
  options: SourceOptions;
}

const toPath = (p: string, projectDir: string) => (isAbsolute(p) ? p : resolve(projectDir, p));

/** OGR: `path|layername=x|subset=...`; a zipped shapefile is `/vsizip/archive.zip/x.shp`. */
function ogr(datasource: string, projectDir: string): LayerSource {
  const [file, ...parts] = datasource.split('|');
  const options: SourceOptions = {};
  for (const part of parts) {
    const [key, value] = part.split('=', 2);
    if (key === 'layername' && value) options.layer = value;
  }
  const zipped = /^\/vsizip\/(.+?\.zip)(?:\/.*)?$/i.exec(file);
  return { path: toPath(zipped ? zipped[1] : file, projectDir), options };
}

/** Delimited text: `file:///abs/x.csv?type=csv&xField=lon&yField=lat&crs=EPSG:4326` (or `file:./rel.csv?...`). */
function delimitedText(datasource: string, projectDir: string): LayerSource {
  const [location, query = ''] = datasource.replace(/^file:/, '').split('?', 2);
  const file = decodeURIComponent(location.startsWith('//') ? location.slice(2) : location);
  const q = new URLSearchParams(query);
  const options: SourceOptions = {};
  if (q.get('xField')) options.x_field = q.get('xField')!;
  if (q.get('yField')) options.y_field = q.get('yField')!;
  if (q.get('wktField')) options.wkt_field = q.get('wktField')!;
  if (q.get('crs')) options.srs = q.get('crs')!;
  return { path: toPath(file, projectDir), options };
}

export function layerSource(provider: string, datasource: string, projectDir: string): LayerSource {
  if (!datasource) return { path: null, options: {} };
  switch (provider) {
    case 'ogr': return ogr(datasource, projectDir);
    case 'delimitedtext': return delimitedText(datasource, projectDir);
    case 'gdal': return { path: toPath(datasource, projectDir), options: {} };
    default: return { path: null, options: {} };
  }
}
