// NGW's attribute filters and orderings of features (its feature API's fld_{field}__{op}=value and
// order_by), applied to stored values with SQL's meaning, as NGW's PostgreSQL applies them: a null
// passes no comparison (nor ne, nor notin), only isnull; ascending order puts nulls last.
import type { AttributeTest, FieldReader, FieldValue, SortKey } from './types.js';

export type Comparison = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/**
 * One condition, its values already of the field's type (http/feature-filter.ts reads them).
 * `field` null tests the feature id.
 */
export type FilterTerm =
  | { field: string | null; op: Comparison; value: NonNullable<FieldValue> }
  | { field: string | null; op: 'in' | 'notin'; values: NonNullable<FieldValue>[] }
  | { field: string | null; op: 'isnull'; isNull: boolean }
  | { field: string; op: 'like' | 'ilike'; pattern: string };

type Value = NonNullable<FieldValue>;

/** a against b, two values of one field's type: numbers and bigints compare exactly with each other, texts by code unit. */
export function compareValues(a: Value, b: Value): number {
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

const COMPARISONS: Record<Comparison, (c: number) => boolean> = {
  eq: (c) => c === 0, ne: (c) => c !== 0, lt: (c) => c < 0, le: (c) => c <= 0, gt: (c) => c > 0, ge: (c) => c >= 0,
};

const ANY = Symbol('%');
const ONE = Symbol('_');

/**
 * SQL LIKE over code points: `%` any run, `_` one, a backslash makes the next character literal
 * (PostgreSQL's default escape). Matched greedily with one point to go back to, so a pattern of
 * many `%` costs text × pattern steps; a regular expression of as many `.*` would backtrack
 * exponentially on a long value, and anyone who may read the layer writes the pattern.
 */
export function likeMatcher(pattern: string, caseless: boolean): (text: string) => boolean {
  const fold = (s: string) => (caseless ? s.toLowerCase() : s);
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

function termTest(term: FilterTerm): AttributeTest {
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

/** The filter passing the features that meet every term. */
export function attributeTest(terms: FilterTerm[]): AttributeTest {
  const tests = terms.map(termTest);
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
