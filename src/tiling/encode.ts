// Protobuf writing of MVT layers and features (spec 4.1–4.2), straight from prepared buffers:
// no object per feature or per vertex.
import type { PbfWriter as Pbf } from 'pbf';
import type { GeomType } from './commands.js';

export const MVT_VERSION = 2;
/** Protobuf wire type of length-delimited fields. */
const PBF_BYTES = 2;

interface FeatureFields {
  id: number | null;
  /** 0 is UNKNOWN: allowed by the spec, never written by Meridian's tiles. */
  type: GeomType | 0;
  tags: Packed;
  geometry: Packed;
}

/** Unsigned integers in data[0..length): a reused buffer's filled part, without a view made per feature. */
export interface Packed {
  data: Uint32Array;
  length: number;
}

const NONE: Packed = { data: new Uint32Array(0), length: 0 };
// One reusable holder: pbf.writeMessage passes it to the writer below.
const current: FeatureFields = { id: null, type: 1, tags: NONE, geometry: NONE };

/** Bytes of `v` (an unsigned 32-bit integer) as a varint. */
const varintBytes = (v: number) => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5);

/** A packed repeated uint32 field; its length is counted first, so no byte is moved after. */
function writePacked(pbf: Pbf, field: number, { data, length }: Packed): void {
  if (length === 0) return;
  let bytes = 0;
  for (let i = 0; i < length; i++) bytes += varintBytes(data[i]);
  pbf.writeTag(field, PBF_BYTES);
  pbf.writeVarint(bytes);
  pbf.realloc(bytes);
  const buf = pbf.buf;
  let pos = pbf.pos;
  for (let i = 0; i < length; i++) {
    let v = data[i];
    while (v >= 0x80) { buf[pos++] = (v & 0x7f) | 0x80; v >>>= 7; }
    buf[pos++] = v;
  }
  pbf.pos = pos;
}

function writeFeatureFields(f: FeatureFields, pbf: Pbf): void {
  if (f.id !== null) pbf.writeVarintField(1, f.id);
  writePacked(pbf, 2, f.tags);
  pbf.writeVarintField(3, f.type);
  writePacked(pbf, 4, f.geometry);
}

/** Writes one Feature message (tag 2 of a Layer). `id` null leaves the optional id out. */
export function writeFeature(pbf: Pbf, id: number | null, type: GeomType | 0, tags: Packed, geometry: Packed): void {
  current.id = id;
  current.type = type;
  current.tags = tags;
  current.geometry = geometry;
  pbf.writeMessage(2, writeFeatureFields, current);
}

/** Writes a bytes field from data[from..to) (no view made for it). */
export function writeBytesField(pbf: Pbf, field: number, data: Uint8Array, from: number, to: number): void {
  pbf.writeTag(field, PBF_BYTES);
  pbf.writeVarint(to - from);
  pbf.realloc(to - from);
  const buf = pbf.buf;
  let pos = pbf.pos;
  for (let i = from; i < to; i++) buf[pos++] = data[i];
  pbf.pos = pos;
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
