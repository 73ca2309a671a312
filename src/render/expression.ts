// A small QGIS expression subset for rule filters: literals, "fields", comparisons, = <> != IN,
// LIKE/ILIKE, IS [NOT] NULL, AND/OR/NOT, arithmetic, || and a few functions. Parsed once into a
// plain tree (it crosses to worker threads), evaluated per feature with QGIS's NULL semantics.
export type Value = string | number | boolean | null;

export type Expression =
  | { op: 'lit'; value: Value }
  | { op: 'field'; name: string }
  | { op: 'not' | 'neg'; arg: Expression }
  | { op: 'bin'; name: string; left: Expression; right: Expression }
  | { op: 'in'; arg: Expression; list: Expression[]; negate: boolean }
  | { op: 'isnull'; arg: Expression; negate: boolean }
  | { op: 'call'; name: string; args: Expression[] };

export class ExpressionError extends Error {}

const FUNCTIONS: Record<string, (args: Value[]) => Value> = {
  lower: ([s]) => (s == null ? null : String(s).toLowerCase()),
  upper: ([s]) => (s == null ? null : String(s).toUpperCase()),
  length: ([s]) => (s == null ? null : String(s).length),
  coalesce: (args) => args.find((a) => a != null) ?? null,
  to_int: ([s]) => (s == null ? null : Math.trunc(Number(s))),
  to_real: ([s]) => (s == null ? null : Number(s)),
  to_string: ([s]) => (s == null ? null : String(s)),
};

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|'((?:[^']|'')*)'|"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_]*)|(<>|!=|<=|>=|\|\||[=<>+\-*/%(),]))/y;

type Token = { kind: 'num' | 'str' | 'field' | 'word' | 'sym'; text: string };

function tokenize(source: string): Token[] {
  const out: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.length) {
    if (/^\s*$/.test(source.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(source);
    if (!m) throw new ExpressionError(`cannot read "${source.slice(at).trim().slice(0, 20)}"`);
    if (m[1] !== undefined) out.push({ kind: 'num', text: m[1] });
    else if (m[2] !== undefined) out.push({ kind: 'str', text: m[2].replace(/''/g, "'") });
    else if (m[3] !== undefined) out.push({ kind: 'field', text: m[3].replace(/""/g, '"') });
    else if (m[4] !== undefined) out.push({ kind: 'word', text: m[4] });
    else out.push({ kind: 'sym', text: m[5] });
  }
  return out;
}

const COMPARISONS = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);

/** Parses a QGIS filter expression; throws ExpressionError for anything outside the subset. */
export function parseExpression(source: string): Expression {
  const tokens = tokenize(source);
  let i = 0;
  const peek = () => tokens[i];
  const isWord = (w: string) => peek()?.kind === 'word' && peek().text.toUpperCase() === w;
  const isSym = (s: string) => peek()?.kind === 'sym' && peek().text === s;
  const expect = (s: string) => {
    if (!isSym(s)) throw new ExpressionError(`expected "${s}"`);
    i++;
  };

  const or = (): Expression => {
    let left = and();
    while (isWord('OR')) { i++; left = { op: 'bin', name: 'OR', left, right: and() }; }
    return left;
  };
  const and = (): Expression => {
    let left = not();
    while (isWord('AND')) { i++; left = { op: 'bin', name: 'AND', left, right: not() }; }
    return left;
  };
  const not = (): Expression => {
    if (isWord('NOT')) { i++; return { op: 'not', arg: not() }; }
    return comparison();
  };
  const comparison = (): Expression => {
    const left = additive();
    if (peek()?.kind === 'sym' && COMPARISONS.has(peek().text)) {
      const name = tokens[i++].text;
      return { op: 'bin', name: name === '!=' ? '<>' : name, left, right: additive() };
    }
    if (isWord('IS')) {
      i++;
      const negate = isWord('NOT');
      if (negate) i++;
      if (!isWord('NULL')) throw new ExpressionError('IS is only supported as IS [NOT] NULL');
      i++;
      return { op: 'isnull', arg: left, negate };
    }
    const negate = isWord('NOT');
    if (negate) i++;
    if (isWord('IN')) {
      i++;
      expect('(');
      const list: Expression[] = [];
      if (!isSym(')')) { list.push(or()); while (isSym(',')) { i++; list.push(or()); } }
      expect(')');
      return { op: 'in', arg: left, list, negate };
    }
    if (isWord('LIKE') || isWord('ILIKE')) {
      const name = tokens[i++].text.toUpperCase();
      const like: Expression = { op: 'bin', name, left, right: additive() };
      return negate ? { op: 'not', arg: like } : like;
    }
    if (negate) throw new ExpressionError('NOT must be followed by IN or LIKE here');
    return left;
  };
  const additive = (): Expression => {
    let left = multiplicative();
    while (isSym('+') || isSym('-') || isSym('||')) left = { op: 'bin', name: tokens[i++].text, left, right: multiplicative() };
    return left;
  };
  const multiplicative = (): Expression => {
    let left = unary();
    while (isSym('*') || isSym('/') || isSym('%')) left = { op: 'bin', name: tokens[i++].text, left, right: unary() };
    return left;
  };
  const unary = (): Expression => {
    if (isSym('-')) { i++; return { op: 'neg', arg: unary() }; }
    return primary();
  };
  const primary = (): Expression => {
    const t = tokens[i++];
    if (!t) throw new ExpressionError('unexpected end');
    if (t.kind === 'num') return { op: 'lit', value: Number(t.text) };
    if (t.kind === 'str') return { op: 'lit', value: t.text };
    if (t.kind === 'field') return { op: 'field', name: t.text };
    if (t.kind === 'sym' && t.text === '(') { const e = or(); expect(')'); return e; }
    if (t.kind === 'word') {
      const word = t.text.toUpperCase();
      if (word === 'NULL') return { op: 'lit', value: null };
      if (word === 'TRUE' || word === 'FALSE') return { op: 'lit', value: word === 'TRUE' };
      const name = t.text.toLowerCase();
      if (isSym('(')) {
        if (!FUNCTIONS[name]) throw new ExpressionError(`function ${t.text}() is not supported`);
        i++;
        const args: Expression[] = [];
        if (!isSym(')')) { args.push(or()); while (isSym(',')) { i++; args.push(or()); } }
        expect(')');
        return { op: 'call', name, args };
      }
      return { op: 'field', name: t.text }; // QGIS accepts bare field names
    }
    throw new ExpressionError(`unexpected "${t.text}"`);
  };

  const tree = or();
  if (i < tokens.length) throw new ExpressionError(`unexpected "${tokens[i].text}"`);
  return tree;
}

/** Field names an expression reads. */
export function fieldsOf(e: Expression, into = new Set<string>()): Set<string> {
  switch (e.op) {
    case 'field': into.add(e.name); break;
    case 'not': case 'neg': fieldsOf(e.arg, into); break;
    case 'bin': fieldsOf(e.left, into); fieldsOf(e.right, into); break;
    case 'in': fieldsOf(e.arg, into); e.list.forEach((x) => fieldsOf(x, into)); break;
    case 'isnull': fieldsOf(e.arg, into); break;
    case 'call': e.args.forEach((x) => fieldsOf(x, into)); break;
    case 'lit': break;
  }
  return into;
}

export type Fields = Record<string, unknown>;

const isNumeric = (v: Value): boolean => typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)));

/** QGIS compares as numbers when both sides read as numbers, else as strings. */
function compare(a: Value, b: Value): number {
  if (isNumeric(a) && isNumeric(b)) return Number(a) - Number(b);
  const sa = String(a), sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function likePattern(pattern: string, flags: string): RegExp {
  const body = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${body}$`, flags);
}

const truthy = (v: Value): boolean | null => (v == null ? null : typeof v === 'string' ? v !== '' : Boolean(v));

export function evaluate(e: Expression, fields: Fields): Value {
  switch (e.op) {
    case 'lit': return e.value;
    case 'field': {
      const v = fields[e.name];
      return v === undefined || v === null ? null : typeof v === 'bigint' ? Number(v) : (v as Value);
    }
    case 'not': { const t = truthy(evaluate(e.arg, fields)); return t == null ? null : !t; }
    case 'neg': { const v = evaluate(e.arg, fields); return v == null ? null : -Number(v); }
    case 'isnull': return (evaluate(e.arg, fields) == null) !== e.negate;
    case 'in': {
      const v = evaluate(e.arg, fields);
      if (v == null) return null;
      const found = e.list.some((x) => { const w = evaluate(x, fields); return w != null && compare(v, w) === 0; });
      return found !== e.negate;
    }
    case 'call': return FUNCTIONS[e.name](e.args.map((a) => evaluate(a, fields)));
    case 'bin': {
      if (e.name === 'AND' || e.name === 'OR') {
        const l = truthy(evaluate(e.left, fields));
        if (e.name === 'AND' && l === false) return false;
        if (e.name === 'OR' && l === true) return true;
        const r = truthy(evaluate(e.right, fields));
        if (e.name === 'AND') return r === false ? false : l == null || r == null ? null : true;
        return r === true ? true : l == null || r == null ? null : false;
      }
      const l = evaluate(e.left, fields), r = evaluate(e.right, fields);
      if (l == null || r == null) return null;
      switch (e.name) {
        case '=': return compare(l, r) === 0;
        case '<>': return compare(l, r) !== 0;
        case '<': return compare(l, r) < 0;
        case '<=': return compare(l, r) <= 0;
        case '>': return compare(l, r) > 0;
        case '>=': return compare(l, r) >= 0;
        case 'LIKE': return likePattern(String(r), '').test(String(l));
        case 'ILIKE': return likePattern(String(r), 'i').test(String(l));
        case '||': return String(l) + String(r);
        case '+': return isNumeric(l) && isNumeric(r) ? Number(l) + Number(r) : String(l) + String(r);
        case '-': return Number(l) - Number(r);
        case '*': return Number(l) * Number(r);
        case '/': return Number(r) === 0 ? null : Number(l) / Number(r);
        case '%': return Number(r) === 0 ? null : Number(l) % Number(r);
      }
      throw new ExpressionError(`operator ${e.name}`);
    }
  }
}

/** A filter holds when it evaluates to a true value; NULL does not hold. */
export function holds(e: Expression, fields: Fields): boolean {
  return truthy(evaluate(e, fields)) === true;
}
