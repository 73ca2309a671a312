// Encodes a layer's attribute rows once into an MVT key/value table: each distinct typed value
// becomes one Value message, and each row cell an index into them. Tiles then copy bytes.
import { PbfWriter as Pbf } from 'pbf';
import type { FieldDef, FieldValue } from '../store/types.js';
import { NO_VALUE, sharedCopy, type AttributeTable } from './layer-data.js';
import { writeValue, type MvtValue } from './values.js';

/** The MVT value of a cell, typed by its field: integers stay integers, reals doubles, others strings. */
function mvtValue(v: FieldValue, field: FieldDef): MvtValue | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (field.datatype === 'INTEGER' || field.datatype === 'BIGINT' || field.datatype === 'REAL') return Number(v);
  return String(v);
}

export function buildAttributeTable(fields: FieldDef[], rows: FieldValue[][]): AttributeTable {
  const nk = fields.length;
  const rowValues = new Uint32Array(new SharedArrayBuffer(Math.max(1, rows.length * nk) * 4));
  const ids = new Map<string, number>();
  const pbf = new Pbf();
  const offsets: number[] = [0];
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    for (let k = 0; k < nk; k++) {
      const v = mvtValue(row[k], fields[k]);
      if (v === null) { rowValues[r * nk + k] = NO_VALUE; continue; }
      const double = fields[k].datatype === 'REAL';
      const key = (double ? 'd' : typeof v === 'number' ? 'i' : 's') + v;
      let id = ids.get(key);
      if (id === undefined) {
        id = offsets.length - 1;
        ids.set(key, id);
        writeValue(pbf, v, double);
        offsets.push(pbf.pos);
      }
      rowValues[r * nk + k] = id;
    }
  }
  return {
    keys: fields.map((f) => f.keyname),
    rowValues,
    valueBytes: sharedCopy(Uint8Array, pbf.buf.subarray(0, pbf.pos)),
    valueOffsets: sharedCopy(Uint32Array, offsets),
  };
}
