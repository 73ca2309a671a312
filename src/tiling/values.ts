// MVT attribute values (the Value message), written straight to protobuf with a type that keeps
// the meaning: strings, booleans, unsigned / zigzag-signed integers, doubles.
import type { PbfWriter as Pbf } from 'pbf';

export type MvtValue = string | number | boolean;

/** Writes the fields of one Value message. `double` forces a double for integral reals. */
export function writeValue(pbf: Pbf, v: MvtValue, double = false): void {
  if (typeof v === 'string') pbf.writeStringField(1, v);
  else if (typeof v === 'boolean') pbf.writeBooleanField(7, v);
  else if (double || !Number.isSafeInteger(v)) pbf.writeDoubleField(3, v);
  else if (v >= 0) pbf.writeVarintField(5, v);
  else pbf.writeSVarintField(6, v);
}
