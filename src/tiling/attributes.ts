// Encodes a layer's attribute columns once into an MVT key/value table: each distinct typed value
// becomes one Value message, and each row cell an index into them. Tiles then copy bytes.
import { PbfWriter as Pbf } from 'pbf';
import { NO_TEXT, textOf, valueAt, type Column } from '../store/columns.js';
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

/**
 * The table of `count` rows, row i holding the cells of row `order[i]` of the columns when an order
 * is given (values are numbered in that order too, so nearby rows use nearby values).
 */
export function buildAttributeTable(fields: FieldDef[], columns: Column[], count: number, order?: Uint32Array): AttributeTable {
  const nk = fields.length;
  const rowValues = new Uint32Array(new SharedArrayBuffer(Math.max(1, count * nk) * 4));
  const ids = new Map<string, number>();
  const pbf = new Pbf();
  const offsets: number[] = [0];
  /** The value table's index of a typed value, written on first sight. */
  const idOf = (v: MvtValue, double: boolean): number => {
    const key = (double ? 'd' : typeof v === 'number' ? 'i' : 's') + v;
    let id = ids.get(key);
    if (id === undefined) {
      id = offsets.length - 1;
      ids.set(key, id);
      writeValue(pbf, v, double);
      offsets.push(pbf.pos);
    }
    return id;
  };
  for (let k = 0; k < nk; k++) {
    const column = columns[k], double = fields[k].datatype === 'REAL';
    // A text column's distinct texts are decoded and looked up once each, not once per row.
    const textIds = column.kind === 'text' ? new Uint32Array(column.offsets.length - 1).fill(NO_VALUE) : null;
    for (let i = 0; i < count; i++) {
      const r = order ? order[i] : i;
      let id: number;
      if (column.kind === 'text') {
        const t = column.texts[r];
        if (t === NO_TEXT) id = NO_VALUE;
        else if ((id = textIds![t]) === NO_VALUE) id = textIds![t] = idOf(textOf(column, t), false);
      } else {
        const v = mvtValue(valueAt(column, r), fields[k]);
        id = v === null ? NO_VALUE : idOf(v, double);
      }
      rowValues[i * nk + k] = id;
    }
  }
  return {
    keys: fields.map((f) => f.keyname),
    rowValues,
    valueBytes: sharedCopy(Uint8Array, pbf.buf.subarray(0, pbf.pos)),
    valueOffsets: sharedCopy(Uint32Array, offsets),
  };
}
