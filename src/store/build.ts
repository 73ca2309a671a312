// Turns a source reader's features into a MemoryLayer: reprojects, types fields, assigns fids,
// packs geometry. Yields to the event loop as it goes and logs progress on large layers.
import type { Geometry } from 'geojson';
import type { Logger } from 'pino';
import { transform, transformGeometry } from './crs.js';
import { ColumnsBuilder } from './columns.js';
import { coerce, FieldInference } from './fields.js';
import { MemoryLayer } from './memory-layer.js';
import { GeometryPacker } from './packed.js';
import { SourceError, type SourceReader } from './source.js';
import type { GeometryType } from './types.js';

const YIELD_EVERY = 5_000;
const PROGRESS_EVERY = 100_000;

/** Lets other requests run between batches of a long load. */
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

const FAMILY: Record<string, GeometryType> = {
  Point: 'POINT', MultiPoint: 'POINT', LineString: 'LINESTRING', MultiLineString: 'LINESTRING',
  Polygon: 'POLYGON', MultiPolygon: 'POLYGON',
};

export async function buildLayer(reader: SourceReader, name: string, log: Logger): Promise<MemoryLayer> {
  const toWgs84 = reader.crs === null ? null : transform(reader.crs, 4326);
  const packer = new GeometryPacker();
  const inference = reader.fields ? null : new FieldInference();
  const raw: Record<string, unknown>[] = [];
  const ids: unknown[] = [];
  let family: GeometryType | null = null;
  let multi = false;
  const started = Date.now();

  for await (const f of reader.features) {
    let g: Geometry | null = f.geometry ?? null;
    if (g) {
      const fam = FAMILY[g.type];
      if (!fam) throw new SourceError(`feature ${raw.length + 1}: ${g.type} geometries are not supported`);
      if (family && fam !== family) throw new SourceError(`feature ${raw.length + 1}: mixes ${g.type} into a ${family} layer`);
      family = fam;
      multi ||= g.type.startsWith('Multi');
      g = transformGeometry(g, toWgs84);
    }
    packer.add(g);
    const props = f.properties ?? {};
    inference?.observe(props);
    raw.push(props);
    ids.push(f.id);
    if (raw.length % YIELD_EVERY === 0) await nextTurn();
    if (raw.length % PROGRESS_EVERY === 0) log.info({ layer: name, features: raw.length, ms: Date.now() - started }, 'loading layer');
  }

  const fields = reader.fields ?? inference!.fields();
  const columns = new ColumnsBuilder(fields);
  for (let i = 0; i < raw.length; i++) {
    columns.add((f) => coerce(raw[i][f.keyname], f.datatype));
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
  }
  const geometryType = ((multi ? 'MULTI' : '') + (family ?? 'POINT')) as GeometryType;
  const layer = new MemoryLayer(
    { fields, geometryType, sourceSrs: reader.crs ?? 4326 },
    packer.finish(),
    assignFids(ids),
    columns.finish(),
  );
  log.info({ layer: name, features: raw.length, ms: Date.now() - started }, 'layer loaded');
  return layer;
}

/** The source's ids when all are distinct positive integers, else 1..n in source order. */
function assignFids(ids: unknown[]): Float64Array {
  const fids = new Float64Array(ids.length);
  const seen = new Set<number>();
  for (let i = 0; i < ids.length; i++) {
    const id = typeof ids[i] === 'string' && /^\d+$/.test(ids[i] as string) ? Number(ids[i]) : ids[i];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1 || seen.has(id)) {
      for (let k = 0; k < ids.length; k++) fids[k] = k + 1;
      return fids;
    }
    seen.add(id);
    fids[i] = id;
  }
  return fids;
}
