// A layer's attribute values held by column rather than by row: numbers in one Float64Array per
// field, texts as a dictionary (each distinct text once, in UTF-8, and per row the index of its
// text), all on SharedArrayBuffers. One JS array per row put a 1 M-feature layer's ~100 MB of
// small objects on the heap, traced by every major GC of the main thread (pauses of tens of ms
// between tiles); columns are a handful of objects whatever the row count, and workers share them
// without a copy.
import { Growable, sharedArray } from './packed.js';
import type { FieldDef, FieldType, FieldValue } from './types.js';

/** A text column's index for a null value. */
export const NO_TEXT = 0xffffffff;

export type Column =
  /** INTEGER, REAL and BIGINT within 2^53: NaN is null (a stored number is always finite, see fields.ts). */
  | { kind: 'number'; values: Float64Array }
  /** STRING, DATE, TIME, DATETIME: text i is bytes[offsets[i] .. offsets[i + 1]); per row its text's index or NO_TEXT. */
  | { kind: 'text'; texts: Uint32Array; bytes: Uint8Array; offsets: Uint32Array }
  /** A column holding what the two above cannot (BIGINT beyond 2^53, as bigint): values as they are, copied to workers. */
  | { kind: 'values'; values: FieldValue[] };

/** Field types whose values are numbers. */
export const NUMERIC = new Set<FieldType>(['INTEGER', 'REAL', 'BIGINT']);
const decoder = new TextDecoder();

/** Text `i` of a text column. */
export function textOf(column: Extract<Column, { kind: 'text' }>, i: number): string {
  return decoder.decode(column.bytes.subarray(column.offsets[i], column.offsets[i + 1]));
}

/** The value of `row` in `column`. */
export function valueAt(column: Column, row: number): FieldValue {
  switch (column.kind) {
    case 'number': {
      const v = column.values[row];
      return Number.isNaN(v) ? null : v;
    }
    case 'text': {
      const i = column.texts[row];
      return i === NO_TEXT ? null : textOf(column, i);
    }
    case 'values':
      return column.values[row];
  }
}

/** Builds one column value by value, in the shape its field's type calls for. */
class ColumnBuilder {
  private readonly numbers = new Growable();
  /** Text column: the distinct texts so far, and each one's index. */
  private readonly texts: string[] = [];
  private readonly textIndex = new Map<string, number>();
  /** Set once a value fits neither shape; every value is then kept as it is. */
  private values: FieldValue[] | null = null;

  constructor(private readonly text: boolean) {}

  push(v: FieldValue): void {
    if (this.values) this.values.push(v);
    else if (v === null || v === undefined) this.numbers.push(this.text ? NO_TEXT : NaN);
    else if (this.text && typeof v === 'string') this.numbers.push(this.textId(v));
    else if (!this.text && typeof v === 'number') this.numbers.push(v);
    else {
      this.values = Array.from({ length: this.numbers.length }, (_, row) => this.pushed(row));
      this.values.push(v);
    }
  }

  finish(): Column {
    if (this.values) return { kind: 'values', values: this.values };
    if (!this.text) return { kind: 'number', values: this.numbers.into(Float64Array) };
    const offsets = sharedArray(Uint32Array, this.texts.length + 1);
    for (let i = 0; i < this.texts.length; i++) offsets[i + 1] = offsets[i] + Buffer.byteLength(this.texts[i]);
    const bytes = sharedArray(Uint8Array, offsets[this.texts.length]);
    const writer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.texts.forEach((t, i) => writer.write(t, offsets[i]));
    return { kind: 'text', texts: this.numbers.into(Uint32Array), bytes, offsets };
  }

  private textId(v: string): number {
    let id = this.textIndex.get(v);
    if (id === undefined) {
      id = this.texts.length;
      this.texts.push(v);
      this.textIndex.set(v, id);
    }
    return id;
  }

  /** A value already pushed, read back before the column switches to plain values. */
  private pushed(row: number): FieldValue {
    const v = this.numbers.at(row);
    if (this.text) return v === NO_TEXT ? null : this.texts[v];
    return Number.isNaN(v) ? null : v;
  }
}

/** Builds a layer's columns row by row. */
export class ColumnsBuilder {
  private readonly columns: ColumnBuilder[];

  constructor(private readonly fields: readonly FieldDef[]) {
    this.columns = fields.map((f) => new ColumnBuilder(!NUMERIC.has(f.datatype)));
  }

  /** Appends a row: the value of each field, in schema order. */
  add(valueOf: (field: FieldDef) => FieldValue): void {
    this.fields.forEach((f, k) => this.columns[k].push(valueOf(f)));
  }

  finish(): Column[] {
    return this.columns.map((c) => c.finish());
  }
}
