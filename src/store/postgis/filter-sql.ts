// An attribute filter's terms (FeatureQuery.filter) as SQL conditions on a PostGIS table, every
// value a bound parameter, so that PostgreSQL filters, and pages, what it reads. They mean what
// store/attribute-filter.ts means in memory, on the values as the layer reads them (the select
// expressions of table.ts): a null passes no comparison (nor ne, nor notin); texts, dates and times
// (read as ISO text) compare in code point order; numbers exactly, integers past 2^53 too.
import { NUMERIC } from '../columns.js';
import type { FieldDef, FieldValue, FilterTerm } from '../types.js';

type Value = NonNullable<FieldValue>;

/** The table's side of a filter: its fields, the expression reading each one, its float columns (see TableColumns), and the fid column. */
export interface FilterColumns {
  fields: FieldDef[];
  selects: string[];
  floatColumns: (string | null)[];
  fidColumn: string;
}

const INT8_MIN = -(2n ** 63n), INT8_MAX = 2n ** 63n - 1n;
const isInt8 = (v: Value) => (typeof v === 'bigint' ? v >= INT8_MIN && v <= INT8_MAX : Number.isSafeInteger(v));

/**
 * The SQL type a field's values are compared as. Integers as int8 (an index on the column serves
 * it), but as numeric where a value is not one (1.5, or past int8): exact either way. REAL as
 * float8 (each value a double, written in digits that read back exactly); the rest as text.
 */
function sqlType(type: FieldDef['datatype'], values: Value[]): string {
  if (type === 'REAL') return 'float8';
  if (NUMERIC.has(type)) return values.every(isInt8) ? 'int8' : 'numeric';
  return 'text';
}

/** A LIKE pattern as the matcher in memory reads it: a backslash that ends it stands for itself (PostgreSQL refuses one). */
function likePattern(pattern: string): string {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '\\') continue;
    if (i === pattern.length - 1) return `${pattern}\\`;
    i++;
  }
  return pattern;
}

const OPERATORS = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

/**
 * The conditions of `terms`, ANDed by the caller; their values pushed onto `params` ($n). Texts are
 * ordered COLLATE "C" (code points, whatever the database's locale), but tested for equality in
 * the column's own collation, where its index serves (a deterministic collation's equality is the
 * bytes'). ILIKE folds case as the database's LC_CTYPE does: code point by code point in a UTF-8
 * locale, as in memory; ASCII letters only where it is C.
 */
export function filterSql(terms: FilterTerm[], t: FilterColumns, params: unknown[]): string[] {
  const param = (value: unknown, type: string) => `$${params.push(value)}::${type}`;
  const text = (v: Value) => String(v);
  return terms.map((term) => {
    if (term.op === 'search') {
      if (!t.fields.length) return 'FALSE';
      const pattern = param(likePattern(term.pattern), 'text');
      return `(${t.selects.map((s) => `(${s})::text ${term.caseless ? 'ILIKE' : 'LIKE'} ${pattern}`).join(' OR ')})`;
    }
    const k = term.field === null ? -1 : t.fields.findIndex((f) => f.keyname === term.field);
    const float = k < 0 ? null : t.floatColumns[k];
    const type = k < 0 ? 'BIGINT' : t.fields[k].datatype;
    const read = k < 0 ? t.fidColumn : t.selects[k];
    if (term.op === 'isnull') return `${read} IS ${term.isNull ? '' : 'NOT '}NULL`;
    // A float column's value reads as null unless finite (NaN ranks above 'Infinity'): a comparison
    // passes only between the infinities, a range an index on the column scans.
    const column = float ?? read;
    const finite = (condition: string) => (float ? `(${condition} AND ${float} > '-Infinity' AND ${float} < 'Infinity')` : condition);
    switch (term.op) {
      case 'like':
      case 'ilike':
        return `${column} ${term.op === 'like' ? 'LIKE' : 'ILIKE'} ${param(likePattern(term.pattern), 'text')}`;
      case 'in':
      case 'notin': {
        const list = param(term.values.map(text), `${sqlType(type, term.values)}[]`);
        return finite(term.op === 'in' ? `${column} = ANY(${list})` : `(${column} <> ALL(${list}) AND ${column} IS NOT NULL)`);
      }
      default: {
        const ordered = term.op !== 'eq' && term.op !== 'ne' && !NUMERIC.has(type);
        return finite(`${column}${ordered ? ' COLLATE "C"' : ''} ${OPERATORS[term.op]} ${param(text(term.value), sqlType(type, [term.value]))}`);
      }
    }
  });
}
