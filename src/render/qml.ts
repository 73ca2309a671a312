// QGIS 3 QML (as QGIS writes it) to a Style: renderer-v2 of type singleSymbol, categorizedSymbol,
// graduatedSymbol or RuleRenderer, plus layer opacity and scale-based visibility. What is not
// understood is listed in `unsupported` and left out; a QML that is not a QGIS style throws.
import { XMLParser } from 'fast-xml-parser';
import { ExpressionError, fieldsOf, parseExpression } from './expression.js';
import { NO_SCALE_LIMIT, type Renderer, type Rule, type ScaleRange, type Style, type Symbol, type SymbolLayer } from './style.js';
import { symbolLayer, type Props } from './symbol-layers.js';

export class StyleError extends Error {}

type Node = Record<string, any>;

const LISTS = new Set(['symbol', 'layer', 'category', 'range', 'rule', 'prop', 'Option']);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => LISTS.has(name),
});

/** A symbol layer's properties: the <Option type="Map"> QGIS ≥ 3.16 writes, else the older <prop k v>. */
function propsOf(layer: Node): Props {
  const out: Props = {};
  for (const p of layer.prop ?? []) out[p.k] = p.v;
  const map = (layer.Option ?? []).find((o: Node) => o.type === 'Map');
  for (const o of map?.Option ?? []) if (o.name && o.value !== undefined) out[o.name] = o.value;
  return out;
}

function number(text: unknown, fallback: number): number {
  const n = Number(text);
  return text === undefined || text === '' || !Number.isFinite(n) ? fallback : n;
}

export function parseQml(text: string): Style {
  let doc: Node;
  try { doc = parser.parse(text); } catch (e) { throw new StyleError(`not XML: ${(e as Error).message}`); }
  const qgis = doc.qgis;
  const r = qgis?.['renderer-v2'];
  if (!r) throw new StyleError('no <qgis><renderer-v2> element: not a QGIS vector style');

  const unsupported = new Set<string>();
  const report = (what: string) => unsupported.add(what);
  const fields = new Set<string>();

  const symbols = new Map<string, Symbol>();
  for (const s of r.symbols?.symbol ?? []) {
    const opacity = number(s.alpha, 1);
    const layers: SymbolLayer[] = [];
    for (const l of s.layer ?? []) {
      if (l.enabled === '0') continue;
      if (l.symbol) report(`sub-symbols of ${l.class}`);
      const layer = symbolLayer(l.class, propsOf(l), opacity, report);
      if (layer) layers.push(layer);
    }
    symbols.set(String(s.name), { layers });
  }
  const symbolNamed = (name: unknown): Symbol | null => (name === undefined ? null : symbols.get(String(name)) ?? null);

  let renderer: Renderer;
  switch (r.type) {
    case 'singleSymbol':
      renderer = { type: 'single', symbol: symbolNamed('0') ?? { layers: [] } };
      break;
    case 'nullSymbol':
      renderer = { type: 'single', symbol: { layers: [] } };
      break;
    case 'categorizedSymbol': {
      const categories = [];
      let fallback: Symbol | null = null;
      for (const c of r.categories?.category ?? []) {
        if (c.render === 'false') continue;
        const symbol = symbolNamed(c.symbol);
        if (!symbol) continue;
        // QGIS's "all other values" category has an empty value.
        if (c.value === '' || c.value === undefined) fallback ??= symbol;
        else categories.push({ value: String(c.value), symbol });
      }
      if (/[^\w]/.test(r.attr ?? '')) report(`categorizing by expression ${r.attr}`);
      fields.add(r.attr);
      renderer = { type: 'categorized', field: r.attr, categories, fallback };
      break;
    }
    case 'graduatedSymbol': {
      const ranges = [];
      for (const g of r.ranges?.range ?? []) {
        const symbol = symbolNamed(g.symbol);
        if (g.render !== 'false' && symbol) ranges.push({ lower: number(g.lower, -Infinity), upper: number(g.upper, Infinity), symbol });
      }
      if (/[^\w]/.test(r.attr ?? '')) report(`graduating by expression ${r.attr}`);
      fields.add(r.attr);
      renderer = { type: 'graduated', field: r.attr, ranges };
      break;
    }
    case 'RuleRenderer': {
      const rule = (n: Node): Rule | null => {
        if (n.checkstate === '0') return null;
        let filter: Rule['filter'] = null;
        const source = (n.filter ?? '').trim();
        if (source.toUpperCase() === 'ELSE') filter = 'else';
        else if (source) {
          try {
            filter = parseExpression(source);
            fieldsOf(filter, fields);
          } catch (e) {
            if (!(e instanceof ExpressionError)) throw e;
            report(`rule filter ${source} (${e.message}; the rule is skipped)`);
            return null;
          }
        }
        const scale: ScaleRange = { minScale: number(n.scalemaxdenom, 0), maxScale: number(n.scalemindenom, 0) };
        const children = (n.rule ?? []).map(rule).filter((x: Rule | null): x is Rule => x !== null);
        return { filter, symbol: symbolNamed(n.symbol), scale, children };
      };
      const root = r.rules ? rule(r.rules) : null;
      renderer = { type: 'rules', rules: root ? [root] : [] };
      break;
    }
    default:
      report(`renderer ${r.type} (nothing is drawn)`);
      renderer = { type: 'single', symbol: { layers: [] } };
  }

  const scale = qgis.hasScaleBasedVisibilityFlag === '1'
    ? { minScale: number(qgis.minScale, 0), maxScale: number(qgis.maxScale, 0) }
    : NO_SCALE_LIMIT;
  if (r.symbollevels === '1') report('symbol levels');
  if (qgis.labelsEnabled === '1') report('labels');
  return {
    renderer,
    opacity: number(qgis.layerOpacity, 1),
    scale,
    fields: [...fields].filter(Boolean),
    unsupported: [...unsupported],
  };
}
