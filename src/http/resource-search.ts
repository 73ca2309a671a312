// The query of /api/resource/search/, as NextGIS Web reads it: attribute filters
// `{attr}[__{op}]=value` (all must hold), `root` (search under it, itself included) and
// `serialization` (`resource`: only the resource block, the default; `full`: the whole JSON),
// `owner_user__id` (the owner's user id: every resource here is the administrator's).
import type { ParsedUrlQuery } from 'node:querystring';
import type { ResourceEntry } from '../catalog/types.js';
import { likeMatcher } from '../store/attribute-filter.js';
import { badParameter } from './errors.js';
import { intParam, MAX_ID, single } from './params.js';

type Op = 'eq' | 'in' | 'like' | 'ilike';

interface Attribute {
  value: (e: ResourceEntry) => string | number | null;
  numeric: boolean;
  ops: Op[];
}

const ID_OPS: Op[] = ['eq', 'in'];
const TEXT_OPS: Op[] = ['eq', 'in', 'like', 'ilike'];

/** The attributes NGW filters on; `parent_id` is its older name of `parent`. */
const ATTRIBUTES: Record<string, Attribute> = {
  id: { value: (e) => e.id, numeric: true, ops: ID_OPS },
  cls: { value: (e) => e.cls, numeric: false, ops: TEXT_OPS },
  parent: { value: (e) => e.parent, numeric: true, ops: ID_OPS },
  parent_id: { value: (e) => e.parent, numeric: true, ops: ID_OPS },
  keyname: { value: (e) => e.keyname ?? null, numeric: false, ops: ['eq', 'in'] },
  display_name: { value: (e) => e.display_name, numeric: false, ops: TEXT_OPS },
};

export interface ResourceSearch {
  /** The resource whose subtree is searched (the root, 0, unless asked). */
  root: number;
  full: boolean;
  matches: (entry: ResourceEntry) => boolean;
}

/** `owner`: the user id of every resource's owner. */
export function resourceSearch(query: ParsedUrlQuery, owner: number): ResourceSearch {
  let root = 0;
  let full = false;
  const tests: ((e: ResourceEntry) => boolean)[] = [];
  for (const name of Object.keys(query)) {
    const text = single(query[name] as string | string[] | undefined) ?? '';
    if (name === 'serialization') {
      if (text !== 'resource' && text !== 'full') throw badParameter(name, 'must be resource or full');
      full = text === 'full';
    } else if (name === 'root' || name === 'parent_id__recursive') {
      root = intParam(text, name, 0, MAX_ID);
    } else if (name === 'owner_user__id') {
      const owned = intParam(text, name, 0, MAX_ID) === owner;
      tests.push(() => owned);
    } else {
      tests.push(attributeTest(name, text));
    }
  }
  return { root, full, matches: (e) => tests.every((t) => t(e)) };
}

function attributeTest(name: string, text: string): (e: ResourceEntry) => boolean {
  const [key, op = 'eq'] = name.split(/__(.*)/s) as [string, Op | undefined];
  const attr = Object.hasOwn(ATTRIBUTES, key) ? ATTRIBUTES[key] : undefined;
  if (!attr || !attr.ops.includes(op)) {
    throw badParameter(name, 'is not a parameter of the resource search (filters id, cls, parent, parent_id, keyname, display_name, owner_user__id;'
      + ' __eq, __in, and __like, __ilike on cls and display_name; root or parent_id__recursive; serialization)');
  }
  const read = (v: string) => (attr.numeric ? intParam(v, name, 0, MAX_ID) : v);
  if (op === 'like' || op === 'ilike') {
    const matches = likeMatcher(text, op === 'ilike');
    return (e) => matches(String(attr.value(e)));
  }
  const wanted = new Set(op === 'in' ? text.split(',').map(read) : [read(text)]);
  return (e) => wanted.has(attr.value(e) as string | number);
}
