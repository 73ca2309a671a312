// Reading parts of a monitoring answer: nginx's `fields=` and Glances' /{plugin}/{field}/{value}.
import { ApiError } from '../http/errors.js';
import { notFound } from './errors.js';

type Item = Record<string, unknown>;
const isItem = (v: unknown): v is Item => !!v && typeof v === 'object' && !Array.isArray(v);
/** Own keys only: "constructor" or "__proto__" is not a field of every object. */
const has = (item: Item, name: string) => Object.hasOwn(item, name);

function pick(item: Item, names: string[]): Item {
  const out: Item = Object.create(null);
  for (const n of names) if (has(item, n)) out[n] = item[n];
  return out;
}

/**
 * `fields=a,b` keeps those keys of an object, of each item of a list, or of each member of a
 * collection (a map of names to objects); `fields=` (empty) keeps only the names. A name that no
 * object has is a 400, where nginx would silently return less.
 */
export function selectFields(value: unknown, fields: string | undefined, collection = false): unknown {
  if (fields === undefined || !(isItem(value) || Array.isArray(value))) return value;
  const names = fields === '' ? [] : fields.split(',').map((s) => s.trim());
  const items: Item[] = collection ? Object.values(value as Item).filter(isItem) : Array.isArray(value) ? value.filter(isItem) : [value as Item];
  const unknown = names.filter((n) => !items.some((i) => has(i, n)));
  if (items.length && unknown.length) throw new ApiError(400, 'UnknownField', `fields= names unknown fields: ${unknown.join(', ')}.`);
  if (collection) return Object.fromEntries(Object.entries(value as Item).map(([k, v]) => [k, isItem(v) ? pick(v, names) : v]));
  if (Array.isArray(value)) return value.map((v) => (isItem(v) ? pick(v, names) : v));
  return pick(value as Item, names);
}

/** Glances' /{plugin}/{field}: `{field: value}` for an object, `{field: [values]}` for a list. */
export function fieldOf(stats: Item | Item[], field: string): Item {
  const items = Array.isArray(stats) ? stats : [stats];
  if (!items.some((i) => has(i, field))) throw notFound('FieldNotFound', `Field "${field}"`);
  return { [field]: Array.isArray(stats) ? stats.map((i) => i[field]) : stats[field] };
}

/** Glances' /{plugin}/{field}/{value}: `{value: [items whose field equals value]}`. */
export function itemsWhere(stats: Item | Item[], field: string, value: string): Item {
  fieldOf(stats, field);
  const matching = (Array.isArray(stats) ? stats : [stats]).filter((i) => String(i[field]) === value);
  if (!matching.length) throw notFound('ItemNotFound', `An item whose ${field} is "${value}"`);
  return { [value]: matching };
}
