// Meridian's JSON style, for layers without a QML: one fill, stroke and marker for the whole layer.
//   { "fill": "#66aa33", "stroke": {"color": "#333333", "width": 0.26, "unit": "MM"},
//     "marker": {"shape": "circle", "size": 2.5, "unit": "MM", "fill": "#cc3333", "stroke": {...}},
//     "opacity": 1, "minScale": 0, "maxScale": 0 }
// Colours are #rrggbb[aa] or QGIS's "r,g,b,a"; polygons take fill + stroke, lines the stroke, points the marker.
import { StyleError } from './qml.js';
import type { Length, MarkerShape, Stroke, Style, SymbolLayer, Unit } from './style.js';
import { parseColor } from './symbol-layers.js';

const UNITS: Unit[] = ['MM', 'Pixel', 'MapUnit', 'Point', 'Inch', 'RenderMetersInMapUnits'];
const SHAPES: MarkerShape[] = ['circle', 'square', 'diamond', 'triangle', 'equilateral_triangle', 'pentagon',
  'hexagon', 'octagon', 'star', 'cross', 'cross2', 'cross_fill', 'line'];

type Json = Record<string, unknown>;

function color(value: unknown, where: string) {
  const c = typeof value === 'string' ? parseColor(value) : null;
  if (!c) throw new StyleError(`${where} must be a colour ("#rrggbb", "#rrggbbaa" or "r,g,b,a")`);
  return c;
}

function size(o: Json, key: string, fallback: number, where: string): Length {
  const value = o[key] ?? fallback;
  const unit = o.unit ?? 'MM';
  if (typeof value !== 'number' || !(value >= 0)) throw new StyleError(`${where}.${key} must be a non-negative number`);
  if (!UNITS.includes(unit as Unit)) throw new StyleError(`${where}.unit must be one of ${UNITS.join(', ')}`);
  return { value, unit: unit as Unit };
}

function object(value: unknown, where: string): Json {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new StyleError(`${where} must be an object`);
  return value as Json;
}

function stroke(value: unknown, where: string): Stroke | null {
  if (value === undefined || value === null) return null;
  const o = object(value, where);
  return { color: color(o.color, `${where}.color`), width: size(o, 'width', 0.26, where), join: 'round', cap: 'round', dash: null };
}

export function parseJsonStyle(value: unknown): Style {
  const o = object(value, 'style');
  const layers: SymbolLayer[] = [];
  const fill = o.fill === undefined ? null : color(o.fill, 'style.fill');
  const line = stroke(o.stroke, 'style.stroke');
  if (fill || line) layers.push({ type: 'fill', fill, stroke: line });
  if (line) layers.push({ type: 'line', stroke: line });
  if (o.marker !== undefined) {
    const m = object(o.marker, 'style.marker');
    const shape = (m.shape ?? 'circle') as MarkerShape;
    if (!SHAPES.includes(shape)) throw new StyleError(`style.marker.shape must be one of ${SHAPES.join(', ')}`);
    layers.push({
      type: 'marker', shape, size: size(m, 'size', 2, 'style.marker'), angle: 0,
      fill: m.fill === undefined ? null : color(m.fill, 'style.marker.fill'),
      stroke: stroke(m.stroke, 'style.marker.stroke'),
    });
  }
  const opacity = o.opacity ?? 1;
  if (typeof opacity !== 'number' || opacity < 0 || opacity > 1) throw new StyleError('style.opacity must be between 0 and 1');
  const scale = { minScale: Number(o.minScale ?? 0), maxScale: Number(o.maxScale ?? 0) };
  if (!(scale.minScale >= 0 && scale.maxScale >= 0)) throw new StyleError('style.minScale and style.maxScale must be non-negative numbers');
  return { renderer: { type: 'single', symbol: { layers } }, opacity, scale, fields: [], unsupported: [] };
}
