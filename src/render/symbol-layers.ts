// QGIS symbol layer properties (SimpleFill, SimpleLine, SimpleMarker) to Meridian symbol layers.
// `props` is the layer's key → value map as QGIS writes it; anything not drawn is reported via `unsupported`.
import type { Length, MarkerShape, Rgba, Stroke, SymbolLayer, Unit } from './style.js';

export type Props = Record<string, string>;
type Report = (what: string) => void;

const UNITS = new Set<Unit>(['MM', 'Pixel', 'MapUnit', 'Point', 'Inch', 'RenderMetersInMapUnits']);

/** "r,g,b,a" as QGIS writes it (newer versions append ",rgb:…"), or #rrggbb[aa]. */
export function parseColor(text: string | undefined, opacity = 1): Rgba | null {
  if (!text) return null;
  const hex = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(text.trim());
  if (hex) {
    const n = parseInt(hex[1], 16);
    const a = hex[2] ? parseInt(hex[2], 16) / 255 : 1;
    return [n >> 16, (n >> 8) & 255, n & 255, a * opacity];
  }
  const parts = text.split(',').slice(0, 4).map(Number);
  if (parts.length < 3 || parts.some((p) => !Number.isFinite(p))) return null;
  return [parts[0], parts[1], parts[2], ((parts[3] ?? 255) / 255) * opacity];
}

function length(value: string | undefined, unit: string | undefined, fallback: number, report: Report): Length {
  const v = Number(value);
  let u = (unit ?? 'MM') as Unit;
  if (!UNITS.has(u)) { report(`unit ${unit}`); u = 'MM'; }
  return { value: Number.isFinite(v) ? v : fallback, unit: u };
}

/** Qt's pen dash patterns, in multiples of the pen width. */
const QT_DASHES: Record<string, number[]> = {
  dash: [4, 2], dot: [1, 2], 'dash dot': [4, 2, 1, 2], 'dash dot dot': [4, 2, 1, 2, 1, 2],
};

const JOINS: Record<string, Stroke['join']> = { miter: 'miter', round: 'round', bevel: 'bevel' };
const CAPS: Record<string, Stroke['cap']> = { flat: 'butt', round: 'round', square: 'square' };

interface StrokeKeys { color: string; style: string; width: string; unit: string; cap?: string }

function stroke(p: Props, keys: StrokeKeys, opacity: number, report: Report): Stroke | null {
  const style = p[keys.style] ?? 'solid';
  const color = parseColor(p[keys.color], opacity);
  if (style === 'no' || !color) return null;
  const width = length(p[keys.width], p[keys.unit], 0.26, report);
  let dash: Length[] | null = null;
  if (p.use_custom_dash === '1' && p.customdash) {
    dash = p.customdash.split(';').map((d) => length(d, p.customdash_unit, 0, report));
  } else if (QT_DASHES[style]) {
    const unitWidth: Length = width.value > 0 ? width : { value: 1, unit: 'Pixel' };
    dash = QT_DASHES[style].map((k) => ({ value: k * unitWidth.value, unit: unitWidth.unit }));
  } else if (style !== 'solid') {
    report(`line style ${style}`);
  }
  return {
    color, width, dash,
    join: JOINS[p.joinstyle] ?? 'bevel',
    cap: CAPS[p[keys.cap ?? 'capstyle']] ?? 'square',
  };
}

function checkOffset(p: Props, report: Report): void {
  if (p.offset && !/^0(,0)?$/.test(p.offset.replace(/\s/g, '').replace(/\.0+/g, ''))) report('symbol offset');
}

const SHAPES = new Set<MarkerShape>(['circle', 'square', 'diamond', 'triangle', 'equilateral_triangle', 'pentagon',
  'hexagon', 'octagon', 'star', 'cross', 'cross2', 'cross_fill', 'line']);
const SHAPE_ALIASES: Record<string, MarkerShape> = { rectangle: 'square', regular_star: 'star', x: 'cross2' };

/** One symbol layer; null when its class is not drawn (reported). */
export function symbolLayer(cls: string, p: Props, opacity: number, report: Report): SymbolLayer | null {
  switch (cls) {
    case 'SimpleFill': {
      checkOffset(p, report);
      const style = p.style ?? 'solid';
      if (style !== 'solid' && style !== 'no') report(`fill style ${style} (drawn solid)`);
      return {
        type: 'fill',
        fill: style === 'no' ? null : parseColor(p.color, opacity),
        stroke: stroke(p, { color: 'outline_color', style: 'outline_style', width: 'outline_width', unit: 'outline_width_unit' }, opacity, report),
      };
    }
    case 'SimpleLine': {
      checkOffset(p, report);
      const s = stroke(p, { color: 'line_color', style: 'line_style', width: 'line_width', unit: 'line_width_unit' }, opacity, report);
      return s && { type: 'line', stroke: s };
    }
    case 'SimpleMarker': {
      checkOffset(p, report);
      const name = p.name ?? 'circle';
      let shape = SHAPE_ALIASES[name] ?? name as MarkerShape;
      if (!SHAPES.has(shape)) { report(`marker shape ${name} (drawn as a circle)`); shape = 'circle'; }
      if (p.scale_method && p.scale_method !== 'diameter') report(`marker scale method ${p.scale_method}`);
      return {
        type: 'marker',
        shape,
        size: length(p.size, p.size_unit, 2, report),
        angle: Number(p.angle) || 0,
        fill: parseColor(p.color, opacity),
        stroke: stroke(p, { color: 'outline_color', style: 'outline_style', width: 'outline_width', unit: 'outline_width_unit', cap: 'cap_style' }, opacity, report),
      };
    }
    default:
      report(`symbol layer ${cls}`);
      return null;
  }
}
