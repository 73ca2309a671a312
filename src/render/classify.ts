// Which symbols draw a feature, by the style's renderer, at a map scale.
import { holds, type Fields } from './expression.js';
import { visibleAt, type Renderer, type Rule, type Symbol } from './style.js';

function ruleSymbols(rules: Rule[], fields: Fields, scale: number, out: Symbol[]): void {
  let matched = false;
  const elses: Rule[] = [];
  for (const rule of rules) {
    if (rule.filter === 'else') { elses.push(rule); continue; }
    if (!visibleAt(rule.scale, scale) || (rule.filter && !holds(rule.filter, fields))) continue;
    matched = true;
    if (rule.symbol) out.push(rule.symbol);
    ruleSymbols(rule.children, fields, scale, out);
  }
  // An ELSE rule takes the features none of its (non-ELSE) siblings took.
  if (matched) return;
  for (const rule of elses) {
    if (!visibleAt(rule.scale, scale)) continue;
    if (rule.symbol) out.push(rule.symbol);
    ruleSymbols(rule.children, fields, scale, out);
  }
}

/** The feature's symbols in drawing order; empty when the renderer does not draw it. */
export function symbolsFor(renderer: Renderer, fields: Fields, scale: number): Symbol[] {
  switch (renderer.type) {
    case 'single': return [renderer.symbol];
    case 'categorized': {
      const v = fields[renderer.field];
      const text = v === null || v === undefined ? null : String(v);
      const hit = renderer.categories.find((c) => c.value === text
        || (text !== null && c.value !== null && c.value.trim() !== '' && Number(c.value) === Number(text)));
      return hit ? [hit.symbol] : renderer.fallback ? [renderer.fallback] : [];
    }
    case 'graduated': {
      const v = fields[renderer.field];
      if (v === null || v === undefined || v === '') return [];
      const n = Number(v);
      const hit = renderer.ranges.find((r) => r.lower <= n && n <= r.upper);
      return hit ? [hit.symbol] : [];
    }
    case 'rules': {
      const out: Symbol[] = [];
      ruleSymbols(renderer.rules, fields, scale, out);
      return out;
    }
  }
}
