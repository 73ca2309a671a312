// NGW's attribute filters and orderings of features (its feature API's fld_{field}__{op}=value,
// like/ilike and order_by), applied in memory with SQL's meaning, as NGW's PostgreSQL applies them
// and as postgis/filter-sql.ts has PostgreSQL apply them: a null passes no comparison (nor ne, nor
// notin), only isnull; texts compare in code point order (COLLATE "C"); ascending order puts nulls last.
import type { Comparison, FieldDef, FieldValue, FilterTerm, SortKey } from './types.js';

/** Reads one field's value (by keyname) of the feature being tested. */
export type FieldReader = (keyname: string) => FieldValue;

/** Whether feature `fid`, whose values `value` reads, passes an attribute filter. */
export type AttributeTest = (fid: number, value: FieldReader) => boolean;

type Value = NonNullable<FieldValue>;

/** A UTF-16 unit as it ranks in code point order: surrogates (the code points past U+FFFF) above U+E000–U+FFFF. */
const rank = (unit: number) => (unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit);

/** a against b in code point order (UTF-8's byte order, PostgreSQL's COLLATE "C"), not JS's code unit order. */
function compareTexts(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) return rank(x) < rank(y) ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

/** a against b, two values of one field's type: numbers and bigints compare exactly with each other, texts by code point. */
export function compareValues(a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') return compareTexts(a, b);
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

const COMPARISONS: Record<Comparison, (c: number) => boolean> = {
  eq: (c) => c === 0, ne: (c) => c !== 0, lt: (c) => c < 0, le: (c) => c <= 0, gt: (c) => c > 0, ge: (c) => c >= 0,
};

/**
 * Lower case, code point by code point (Unicode's simple case mapping, as PostgreSQL's ILIKE folds
 * in a UTF-8 locale): JS's toLowerCase of a whole text maps İ to two code points and a final Σ to ς
 * by context, and "ΟΔΟΣ" ILIKE "οδοσ" would differ between the stores.
 */
export function foldCase(text: string): string {
  let folded = '';
  for (const c of text) folded += String.fromCodePoint(c.toLowerCase().codePointAt(0)!);
  return folded;
}

const ANY = Symbol('%');
const ONE = Symbol('_');

/**
 * SQL LIKE over code points: `%` any run, `_` one, a backslash makes the next character literal
 * (PostgreSQL's default escape; one that ends the pattern stands for itself). Matched greedily with
 * one point to go back to, so a pattern of many `%` costs text × pattern steps; a regular
 * expression of as many `.*` would backtrack exponentially on a long value, and anyone who may
 * read the layer writes the pattern.
 */
export function likeMatcher(pattern: string, caseless: boolean): (text: string) => boolean {
  const fold = (s: string) => (caseless ? foldCase(s) : s);
  const chars = Array.from(fold(pattern));
  const tokens: (string | symbol)[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '\\' && i + 1 < chars.length) tokens.push(chars[++i]);
    else tokens.push(c === '%' ? ANY : c === '_' ? ONE : c);
  }
  return (value) => {
    const text = Array.from(fold(value));
    let t = 0, p = 0, star = -1, mark = 0;
    while (t < text.length) {
      if (p < tokens.length && (tokens[p] === ONE || tokens[p] === text[t])) { t++; p++; }
      else if (p < tokens.length && tokens[p] === ANY) { star = p++; mark = t; }
      else if (star >= 0) { p = star + 1; t = ++mark; }
      else return false;
    }
    while (tokens[p] === ANY) p++;
    return p === tokens.length;
  };
}

/**
 * A float8 as PostgreSQL writes it (its ::text, which a search matches): the shortest digits that
 * read back, as JS's, but in exponent form below 1e-4 and from 1e15, with two exponent digits at least.
 */
export function sqlFloatText(n: number): string {
  if (Object.is(n, -0)) return '-0';
  const [digits, exponent] = n.toExponential().split('e');
  const e = Number(exponent);
  if (e >= -4 && e < 15) return String(n);
  return `${digits}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** A value as text, as PostgreSQL casts it for a search (dates and times are already the ISO text both stores show). */
function searchText(value: Value, type: FieldDef['datatype']): string {
  return type === 'REAL' ? sqlFloatText(value as number) : String(value);
}

function termTest(term: FilterTerm, fields: FieldDef[]): AttributeTest {
  if (term.op === 'search') {
    const matches = likeMatcher(term.pattern, term.caseless);
    return (_fid, value) => fields.some((f) => {
      const v = value(f.keyname);
      return v !== null && matches(searchText(v, f.datatype));
    });
  }
  const { field } = term;
  const read = (fid: number, value: FieldReader): FieldValue => (field === null ? fid : value(field));
  switch (term.op) {
    case 'isnull':
      return (fid, value) => (read(fid, value) === null) === term.isNull;
    case 'in':
    case 'notin': {
      const wanted = term.op === 'in';
      return (fid, value) => {
        const v = read(fid, value);
        return v !== null && term.values.some((x) => compareValues(v, x) === 0) === wanted;
      };
    }
    case 'like':
    case 'ilike': {
      const matches = likeMatcher(term.pattern, term.op === 'ilike');
      return (fid, value) => {
        const v = read(fid, value);
        return typeof v === 'string' && matches(v);
      };
    }
    default: {
      const passes = COMPARISONS[term.op];
      return (fid, value) => {
        const v = read(fid, value);
        return v !== null && passes(compareValues(v, term.value));
      };
    }
  }
}

/** The test passing the features that meet every term; `fields` are the layer's (a search reads them all). */
export function attributeTest(terms: FilterTerm[], fields: FieldDef[]): AttributeTest {
  const tests = terms.map((term) => termTest(term, fields));
  return (fid, value) => tests.every((test) => test(fid, value));
}

/** A feature as ordered: its fid and the values of the sort keys, in their order. */
export interface SortEntry {
  fid: number;
  keys: FieldValue[];
}

/** Orders entries by `keys` (nulls last ascending, first descending, as PostgreSQL), then by fid, as NGW. */
export function sortEntries(keys: SortKey[]): (a: SortEntry, b: SortEntry) => number {
  return (a, b) => {
    for (let k = 0; k < keys.length; k++) {
      const x = a.keys[k], y = b.keys[k];
      const c = x === null ? (y === null ? 0 : 1) : y === null ? -1 : compareValues(x, y);
      if (c !== 0) return keys[k].descending ? -c : c;
    }
    return a.fid - b.fid;
  };
}
