// Protobuf writing of MVT layers and features (spec 4.1–4.2), straight from prepared buffers:
// no object per feature or per vertex.
import type { PbfWriter as Pbf } from 'pbf';
import type { GeomType } from './commands.js';

export const MVT_VERSION = 2;

interface FeatureFields {
  id: number | null;
  /** 0 is UNKNOWN: allowed by the spec, never written by Meridian's tiles. */
  type: GeomType | 0;
  tags: Uint32Array;
  geometry: Uint32Array;
}

// One reusable holder: pbf.writeMessage passes it to the writer below.
const current: FeatureFields = { id: null, type: 1, tags: new Uint32Array(0), geometry: new Uint32Array(0) };

function writeFeatureFields(f: FeatureFields, pbf: Pbf): void {
  if (f.id !== null) pbf.writeVarintField(1, f.id);
  pbf.writePackedVarint(2, f.tags as unknown as number[]);
  pbf.writeVarintField(3, f.type);
  pbf.writePackedVarint(4, f.geometry as unknown as number[]);
}

/** Writes one Feature message (tag 2 of a Layer). `id` null leaves the optional id out. */
export function writeFeature(pbf: Pbf, id: number | null, type: GeomType | 0, tags: Uint32Array, geometry: Uint32Array): void {
  current.id = id;
  current.type = type;
  current.tags = tags;
  current.geometry = geometry;
  pbf.writeMessage(2, writeFeatureFields, current);
}

/** What a layer's body reports once its features are written: the keys and values their tags index. */
export interface LayerTables {
  keys: readonly string[];
  /** Writes each Value message (tag 4), in tag index order. */
  writeValues(pbf: Pbf): void;
}

interface LayerFields {
  name: string;
  extent: number;
  body: (pbf: Pbf) => LayerTables;
}

function writeLayerFields(l: LayerFields, pbf: Pbf): void {
  pbf.writeVarintField(15, MVT_VERSION);
  pbf.writeStringField(1, l.name);
  const tables = l.body(pbf);
  for (const key of tables.keys) pbf.writeStringField(3, key);
  tables.writeValues(pbf);
  pbf.writeVarintField(5, l.extent);
}

/** Writes one Layer message (tag 3 of a Tile); `body` writes its features (see writeFeature). */
export function writeLayer(pbf: Pbf, name: string, extent: number, body: (pbf: Pbf) => LayerTables): void {
  pbf.writeMessage(3, writeLayerFields, { name, extent, body });
}
