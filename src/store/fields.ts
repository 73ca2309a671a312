// Field types: inferred from values when a format does not declare them, and values coerced to them.
import type { FieldDef, FieldType, FieldValue } from './types.js';

// GDAL writes dates in CSV as 2024/05/01; both spellings are read.
const DATE = /^\d{4}[-/]\d{2}[-/]\d{2}$/;
const TIME = /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const DATETIME = /^\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const INT32_MAX = 2 ** 31 - 1;

function typeOf(v: unknown): FieldType | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return 'INTEGER';
  if (typeof v === 'bigint') return 'BIGINT';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return 'REAL';
    return Math.abs(v) > INT32_MAX ? 'BIGINT' : 'INTEGER';
  }
  if (v instanceof Date) return 'DATETIME';
  if (typeof v === 'string') {
    if (DATE.test(v)) return 'DATE';
    if (TIME.test(v)) return 'TIME';
    if (DATETIME.test(v)) return 'DATETIME';
  }
  return 'STRING';
}

/** The narrowest type that holds both. */
function widen(a: FieldType | null, b: FieldType | null): FieldType | null {
  if (a === null) return b;
  if (b === null || a === b) return a;
  const numeric: FieldType[] = ['INTEGER', 'BIGINT', 'REAL'];
  if (numeric.includes(a) && numeric.includes(b)) return numeric[Math.max(numeric.indexOf(a), numeric.indexOf(b))];
  return 'STRING';
}

/** Accumulates the type of every property seen, in first-seen key order. */
export class FieldInference {
  private types = new Map<string, FieldType | null>();
  observe(properties: Record<string, unknown>): void {
    for (const key in properties) {
      this.types.set(key, widen(this.types.get(key) ?? null, typeOf(properties[key])));
    }
  }
  fields(): FieldDef[] {
    return [...this.types].map(([keyname, t]) => ({ keyname, datatype: t ?? 'STRING' }));
  }
}

/** 2024/05/01 10:20:30.000 → 2024-05-01T10:20:30 (NGW's ISO form has whole seconds). */
function isoDate(text: string): string {
  return text.replace(/^(\d{4})\/(\d{2})\/(\d{2})/, '$1-$2-$3').replace(' ', 'T').replace(/(:\d{2})\.0+(?=$|Z|[+-])/, '$1');
}

/**
 * A date, time or date and time written in a request, in the form stored values of `type` have
 * (see `coerce`), so that texts compare as the moments do; null when it is none. A date alone is
 * the midnight that begins it, for a DATETIME.
 */
export function temporalValue(text: string, type: 'DATE' | 'TIME' | 'DATETIME'): string | null {
  if (type === 'TIME') return TIME.test(text) ? (text.length === 5 ? `${text}:00` : text) : null;
  if (DATE.test(text)) return type === 'DATE' ? isoDate(text) : `${isoDate(text)}T00:00:00`;
  return type === 'DATETIME' && DATETIME.test(text) ? isoDate(text) : null;
}

function pad(n: number, w = 2): string { return String(n).padStart(w, '0'); }

/** Brings a raw value to the declared type; what cannot be read as that type becomes null. */
export function coerce(v: unknown, type: FieldType): FieldValue {
  if (v === null || v === undefined || v === '') return type === 'STRING' && v === '' ? '' : null;
  switch (type) {
    case 'INTEGER':
    case 'REAL': {
      const n = typeof v === 'boolean' ? Number(v) : typeof v === 'number' ? v : Number(v);
      if (!Number.isFinite(n)) return null;
      return type === 'INTEGER' ? Math.trunc(n) : n;
    }
    case 'BIGINT': {
      if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
      // An integer's digits past 2^53 (PostgreSQL's int8 comes as text) stay exact, as a bigint.
      if (typeof v === 'string' && /^-?\d+$/.test(v)) {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : BigInt(v);
      }
      const n = Number(v);
      return Number.isFinite(n) ? Math.trunc(n) : null;
    }
    case 'DATE':
    case 'DATETIME':
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) return null;
        const d = `${v.getUTCFullYear()}-${pad(v.getUTCMonth() + 1)}-${pad(v.getUTCDate())}`;
        return type === 'DATE' ? d : `${d}T${pad(v.getUTCHours())}:${pad(v.getUTCMinutes())}:${pad(v.getUTCSeconds())}`;
      }
      return isoDate(String(v));
    case 'TIME':
      return String(v);
    case 'STRING':
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}
