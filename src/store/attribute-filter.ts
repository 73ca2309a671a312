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

const ONE = Symbol('_');
type Token = string | typeof ONE;

/**
 * A run of a LIKE pattern between two `%`: code points and `_`s. `find` is bit-parallel (Shift-And,
 * one bit per token, 32 to a word): it reads each code point of the text once, at a cost of one
 * step per word of the run, where comparing the run at every place costs text × run (an 8,000
 * character run against values of 20,000 held the event loop for 20 seconds).
 */
class Run {
  readonly length: number;
  private readonly words: number;
  /** Code point → the bits of the tokens it passes (its own places and every `_`). */
  private readonly masks = new Map<string, Uint32Array>();
  /** The bits of the `_`s: what a code point not in the run passes. */
  private readonly wild: Uint32Array;

  constructor(private readonly tokens: Token[]) {
    this.length = tokens.length;
    this.words = Math.ceil(tokens.length / 32);
    this.wild = new Uint32Array(this.words);
    tokens.forEach((t, k) => { if (t === ONE) this.wild[k >> 5] |= 1 << (k & 31); });
    tokens.forEach((t, k) => {
      if (t === ONE) return;
      let mask = this.masks.get(t);
      if (!mask) this.masks.set(t, (mask = this.wild.slice()));
      mask[k >> 5] |= 1 << (k & 31);
    });
  }

  /** Whether the run matches `text` at `at`. */
  at(text: string[], at: number): boolean {
    return this.tokens.every((t, k) => t === ONE || t === text[at + k]);
  }

  /** Where the run first matches `text` from `from` on, ending by `end`; -1 where it does not. */
  find(text: string[], from: number, end: number): number {
    const state = new Uint32Array(this.words);
    const last = this.words - 1, top = 1 << ((this.length - 1) & 31);
    for (let i = from; i < end; i++) {
      const mask = this.masks.get(text[i]) ?? this.wild;
      // state = ((state << 1) | 1) & mask: bit k set where the run's first k + 1 tokens end at i.
      let carry = 1;
      for (let w = 0; w < this.words; w++) {
        const out = state[w] >>> 31;
        state[w] = ((state[w] << 1) | carry) & mask[w];
        carry = out;
      }
      if (state[last] & top) return i - this.length + 1;
    }
    return -1;
  }
}

/**
 * SQL LIKE over code points: `%` any run, `_` one, a backslash makes the next character literal
 * (PostgreSQL's default escape; one that ends the pattern stands for itself). The runs between
 * `%`s are placed in order, each where it first fits (the first held to the start, the last to
 * the end): an earliest place leaves the most room to those after it, so nothing is tried twice,
 * and a pattern costs text × (pattern / 32) steps at most. Anyone who may read the layer writes
 * the pattern, and a regular expression of many `.*` would backtrack exponentially.
 */
export function likeMatcher(pattern: string, caseless: boolean): (text: string) => boolean {
  const fold = (s: string) => (caseless ? foldCase(s) : s);
  const chars = Array.from(fold(pattern));
  const runs: Token[][] = [[]];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '%') runs.push([]);
    else runs[runs.length - 1].push(c === '\\' && i + 1 < chars.length ? chars[++i] : c === '_' ? ONE : c);
  }
  const [head, ...rest] = runs.map((r) => new Run(r));
  if (!rest.length) return (value) => { const text = Array.from(fold(value)); return text.length === head.length && head.at(text, 0); };
  const tail = rest.pop()!;
  const middle = rest.filter((r) => r.length > 0);
  return (value) => {
    const text = Array.from(fold(value));
    const end = text.length - tail.length;
    if (end < head.length || !head.at(text, 0) || !tail.at(text, end)) return false;
    let from = head.length;
    for (const run of middle) {
      const at = run.find(text, from, end);
      if (at < 0) return false;
      from = at + run.length;
    }
    return true;
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
