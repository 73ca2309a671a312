// The feature list's attribute filters and ordering, as NextGIS Web's feature API takes them:
// fld_{field}=value and fld_{field}__{op}=value, id=… and id__{op}=… on the feature id, like=…
// or ilike=… over every field, and order_by=[-|+]field,… . Read strictly against the layer's
// fields: an unknown field or operator, or a value that is not of the field's type, is a 400 naming its parameter.
import type { ParsedUrlQuery } from 'node:querystring';
import { temporalValue } from '../store/fields.js';
import type { Comparison, FieldDef, FieldValue, FilterTerm, SortKey } from '../store/types.js';
import { badParameter } from './errors.js';
import { decimal, single } from './params.js';

const COMPARISONS = new Set<string>(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
/** Spellings other clients use for NGW's le and ge. */
const ALIASES: Record<string, Comparison> = { lte: 'le', gte: 'ge' };
const OPERATORS = new Set([...COMPARISONS, ...Object.keys(ALIASES), 'like', 'ilike', 'in', 'notin', 'isnull']);

/** The feature id, as a filter sees it: an integer field that is never null. */
const ID: FieldDef = { keyname: 'id', datatype: 'BIGINT' };

/** One value of `field`'s type read from `text`, or a 400 naming `param`. */
function typedValue(text: string, field: FieldDef, param: string): NonNullable<FieldValue> {
  const type = field.datatype;
  if (type === 'STRING') return text;
  if (type === 'DATE' || type === 'TIME' || type === 'DATETIME') {
    const value = temporalValue(text, type);
    if (value === null) throw badParameter(param, `must be ${type === 'TIME' ? 'a time (HH:MM[:SS])' : `a date (YYYY-MM-DD${type === 'DATETIME' ? '[THH:MM[:SS]]' : ''})`} (field "${field.keyname}" is ${type})`);
    return value;
  }
  // Integers past 2^53 stay exact for an integer field (a BIGINT's values may be bigints); a REAL's are doubles.
  if (type !== 'REAL' && /^-?\d+$/.test(text) && !Number.isSafeInteger(Number(text))) return BigInt(text);
  const n = decimal(text);
  if (Number.isNaN(n)) throw badParameter(param, `must be a number (field "${field.keyname}" is ${type})`);
  return n;
}

/** The term of one filter parameter: `field` is the layer's field (or the id), `op` already one of OPERATORS. */
function term(field: FieldDef, op: string, text: string, param: string): FilterTerm {
  const name = field === ID ? null : field.keyname;
  switch (op) {
    case 'isnull':
      if (text !== 'yes' && text !== 'no') throw badParameter(param, 'must be yes or no');
      return { field: name, op, isNull: text === 'yes' };
    case 'in':
    case 'notin':
      return { field: name, op, values: text === '' ? [] : text.split(',').map((v) => typedValue(v, field, param)) };
    case 'like':
    case 'ilike':
      if (field.datatype !== 'STRING' || name === null) throw badParameter(param, `applies to text fields only (field "${field.keyname}" is ${field.datatype})`);
      return { field: name, op, pattern: text };
    default:
      return { field: name, op: ALIASES[op] ?? (op as Comparison), value: typedValue(text, field, param) };
  }
}

/** A parameter's text; one holding a NUL is a 400 (no PostgreSQL text holds one: a PostGIS layer could not be asked). */
function paramText(query: ParsedUrlQuery, param: string): string {
  const text = single(query[param] as string | string[]) ?? '';
  if (text.includes('\0')) throw badParameter(param, 'must not hold a NUL character');
  return text;
}

/**
 * NGW's search of the whole layer: like=text (ilike=text ignoring case) passes the features where
 * some field's value, as text, holds the text (the LIKE pattern %text%: its own %, _ and \ keep
 * their meaning, as in NGW). NGW reads like and ignores ilike when both are given.
 */
function searchTerm(query: ParsedUrlQuery): FilterTerm | undefined {
  const param = query.like !== undefined ? 'like' : query.ilike !== undefined ? 'ilike' : undefined;
  return param && { op: 'search', pattern: `%${paramText(query, param)}%`, caseless: param === 'ilike' };
}

/**
 * The attribute filter of a feature list's query, undefined when it has none. A name is split at
 * its last "__" only where that leaves a field and an operator, so a field named "a__b" is still
 * filtered with fld_a__b=value.
 */
export function attributeFilter(query: ParsedUrlQuery, fields: FieldDef[]): FilterTerm[] | undefined {
  const byName = new Map(fields.map((f) => [f.keyname, f]));
  const terms: FilterTerm[] = [];
  for (const param of Object.keys(query)) {
    let expr: string;
    let fieldOf: (name: string) => FieldDef | undefined;
    if (param.startsWith('fld_')) {
      expr = param.slice(4);
      fieldOf = (name) => byName.get(name);
    } else if (param === 'id' || param.startsWith('id__')) {
      expr = param;
      fieldOf = (name) => (name === 'id' ? ID : undefined);
    } else continue;
    const text = paramText(query, param);
    const split = /^(.*)__([a-z]+)$/.exec(expr);
    const asOperator = split && fieldOf(split[1]);
    if (asOperator && OPERATORS.has(split[2])) terms.push(term(asOperator, split[2], text, param));
    else if (fieldOf(expr)) terms.push(term(fieldOf(expr)!, 'eq', text, param));
    else if (asOperator) throw badParameter(param, `has an unknown operator "${split[2]}" (one of ${[...OPERATORS].join(', ')})`);
    else throw badParameter(param, `names no field of the layer ("${split?.[1] ?? expr}")`);
  }
  const search = searchTerm(query);
  if (search) terms.push(search);
  return terms.length ? terms : undefined;
}

/** `order_by`: fields separated by commas, each descending after "-" and ascending (the default) after "+". */
export function orderByParam(value: string | undefined, fields: FieldDef[], name = 'order_by'): SortKey[] | undefined {
  if (value === undefined || value === '') return undefined;
  return value.split(',').map((item) => {
    const descending = item.startsWith('-');
    // A "+" left unescaped in a query string reads as a space.
    const field = item.replace(/^[-+ ]/, '');
    if (!fields.some((f) => f.keyname === field)) throw badParameter(name, `names no field of the layer ("${field}")`);
    return { field, descending };
  });
}
