// CSV with point coordinates in two columns (x/lon/longitude, y/lat/latitude) or a WKT column.
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import wkx from 'wkx';
import type { Geometry } from 'geojson';
import { SourceError, type RawFeature, type SourceReader } from '../source.js';

export interface CsvOptions {
  x_field?: string;
  y_field?: string;
  wkt_field?: string;
}

const X_NAMES = ['x', 'lon', 'lng', 'long', 'longitude'];
const Y_NAMES = ['y', 'lat', 'latitude'];
const WKT_NAMES = ['wkt', 'geom', 'geometry', 'the_geom'];
const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function find(columns: string[], wanted: string | undefined, names: string[]): string | undefined {
  if (wanted) {
    if (!columns.includes(wanted)) throw new SourceError(`column "${wanted}" is not in the file`);
    return wanted;
  }
  return columns.find((c) => names.includes(c.toLowerCase()));
}

/** Numbers written as text become numbers, so field types can be inferred as for typed formats. */
function autoType(v: string): unknown {
  if (v === '') return null;
  return NUMBER.test(v) && !/^-?0\d/.test(v) ? Number(v) : v;
}

export async function openCsv(path: string, options: CsvOptions = {}): Promise<SourceReader> {
  const parser = createReadStream(path).pipe(parse({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: false }));
  const rows = parser[Symbol.asyncIterator]();
  const first = await rows.next().catch((e: Error) => { throw new SourceError(`not valid CSV: ${e.message}`); });
  const columns = first.done ? [] : Object.keys(first.value as object);
  const wktColumn = find(columns, options.wkt_field, WKT_NAMES);
  const xColumn = wktColumn ? undefined : find(columns, options.x_field, X_NAMES);
  const yColumn = wktColumn ? undefined : find(columns, options.y_field, Y_NAMES);
  if (!first.done && !wktColumn && !(xColumn && yColumn)) {
    throw new SourceError('no geometry columns: name them with x_field/y_field or wkt_field');
  }
  const geometryColumns = new Set([wktColumn, xColumn, yColumn]);
  let line = 1;
  const toFeature = (row: Record<string, string>): RawFeature => {
    line++;
    let geometry: Geometry | null = null;
    if (wktColumn) {
      const text = row[wktColumn];
      if (text) {
        try { geometry = wkx.Geometry.parse(text).toGeoJSON() as Geometry; } catch {
          throw new SourceError(`row ${line}: "${text.slice(0, 40)}" is not WKT`);
        }
      }
    } else if (row[xColumn!] !== '' && row[yColumn!] !== '') {
      const x = Number(row[xColumn!]), y = Number(row[yColumn!]);
      if (!Number.isFinite(x) || !Number.isFinite(y)) throw new SourceError(`row ${line}: coordinates are not numbers`);
      geometry = { type: 'Point', coordinates: [x, y] };
    }
    const properties: Record<string, unknown> = {};
    for (const c of columns) if (!geometryColumns.has(c)) properties[c] = autoType(row[c]);
    return { geometry, properties };
  };
  return {
    crs: null, // CSV cannot say; the catalog's `srs` option does (see open.ts)
    features: (async function* () {
      if (first.done) return;
      yield toFeature(first.value as Record<string, string>);
      try {
        for (let r = await rows.next(); !r.done; r = await rows.next()) yield toFeature(r.value as Record<string, string>);
      } catch (e) {
        throw e instanceof SourceError ? e : new SourceError(`not valid CSV: ${(e as Error).message}`);
      }
    })(),
  };
}
