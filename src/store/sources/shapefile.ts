// ESRI Shapefile: .shp + .dbf (+ .prj, .cpg), as files side by side or inside a .zip.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import * as shapefile from 'shapefile';
import yauzl from 'yauzl';
import type { Geometry } from 'geojson';
import { SourceError, type SourceReader } from '../source.js';

interface Parts { shp: Uint8Array; dbf?: Uint8Array; prj?: string; cpg?: string }

async function readSibling(path: string, ext: string): Promise<Buffer | undefined> {
  const base = path.slice(0, -extname(path).length);
  for (const e of [ext, ext.toUpperCase()]) {
    try { return await readFile(base + e); } catch { /* try the next spelling */ }
  }
  return undefined;
}

/** The first .shp in the archive and its companions (same base name). */
function readZip(path: string): Promise<Parts> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(new SourceError(`not a zip archive: ${err?.message}`));
      const files = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        if (/\/$/.test(entry.fileName)) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(new SourceError(`unreadable zip entry ${entry.fileName}`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => { files.set(entry.fileName.toLowerCase(), Buffer.concat(chunks)); zip.readEntry(); });
        });
      });
      zip.on('end', () => {
        const shpName = [...files.keys()].find((n) => n.endsWith('.shp'));
        if (!shpName) return reject(new SourceError('the archive holds no .shp file'));
        const base = shpName.slice(0, -4);
        resolve({
          shp: files.get(shpName)!,
          dbf: files.get(base + '.dbf'),
          prj: files.get(base + '.prj')?.toString('utf8'),
          cpg: files.get(base + '.cpg')?.toString('utf8'),
        });
      });
      zip.on('error', (e: Error) => reject(new SourceError(e.message)));
      zip.readEntry();
    });
  });
}

// The shapefile library builds DBF dates with the local-time Date constructor, so a blank date
// ("        ") comes out as new Date(0, -1, 0), i.e. 1899-11-30 local time.
const BLANK_DBF_DATE = new Date(0, -1, 0).getTime();

/** A DBF date as YYYY-MM-DD (read in local time, as it was built), or null when blank. */
function dbfDate(v: unknown): unknown {
  if (!(v instanceof Date)) return v;
  if (Number.isNaN(v.getTime()) || v.getTime() === BLANK_DBF_DATE) return null;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(v.getFullYear(), 4)}-${pad(v.getMonth() + 1)}-${pad(v.getDate())}`;
}

export async function openShapefile(path: string): Promise<SourceReader> {
  const parts: Parts = extname(path).toLowerCase() === '.zip'
    ? await readZip(path)
    : {
        shp: await readFile(path),
        dbf: await readSibling(path, '.dbf'),
        prj: (await readSibling(path, '.prj'))?.toString('utf8'),
        cpg: (await readSibling(path, '.cpg'))?.toString('utf8'),
      };
  const encoding = parts.cpg?.trim() || 'utf-8';
  let source: shapefile.Source<GeoJSON.Feature>;
  try {
    source = await shapefile.open(parts.shp, parts.dbf, { encoding });
  } catch (e) {
    throw new SourceError(`${basename(path)} is not a readable shapefile: ${(e as Error).message}`);
  }
  // DBF dates have their own type; other columns are typed from their parsed values.
  const dbfFields = (source as unknown as { _dbf?: { _fields: { name: string; type: string }[] } })._dbf?._fields ?? [];
  const dates = new Set(dbfFields.filter((f) => f.type === 'D').map((f) => f.name));
  let record = 0;
  return {
    crs: parts.prj ?? null,
    features: (async function* () {
      for (let r = await source.read(); !r.done; r = await source.read()) {
        record++;
        const properties = { ...(r.value.properties ?? {}) };
        for (const d of dates) properties[d] = dbfDate(properties[d]);
        yield { id: record, geometry: (r.value.geometry as Geometry | null) ?? null, properties };
      }
    })(),
  };
}
