// One SVG document per image: each style a group (lower first), each feature's symbols in
// feature order, as QGIS draws them without symbol levels. Geometry is clipped to the image
// plus a margin wide enough for the largest stroke or marker.
import { symbolsFor } from './classify.js';
import { clipLine, clipRing, type Rect } from './clip.js';
import { GeometryKind, type PixelGeometries } from './geometries.js';
import { placed, POLYGONS, SEGMENTS } from './markers.js';
import { visibleAt, type Rgba, type Stroke, type Style, type SymbolLayer } from './style.js';
import { scaleDenominator, toPixels, type Frame } from './units.js';

export interface RenderLayer {
  style: Style;
  geometries: PixelGeometries;
}

const n = (v: number) => String(Math.round(v * 100) / 100);

function paint(kind: 'fill' | 'stroke', c: Rgba | null): string {
  if (!c) return ` ${kind}="none"`;
  const base = ` ${kind}="rgb(${c[0]},${c[1]},${c[2]})"`;
  return c[3] < 1 ? `${base} ${kind}-opacity="${n(c[3])}"` : base;
}

function strokeAttrs(s: Stroke | null, frame: Frame): string {
  if (!s) return paint('stroke', null);
  // Width 0 is Qt's cosmetic pen: one pixel whatever the scale.
  const width = toPixels(s.width, frame) || 1;
  let out = `${paint('stroke', s.color)} stroke-width="${n(width)}" stroke-linejoin="${s.join}" stroke-linecap="${s.cap}"`;
  if (s.dash) out += ` stroke-dasharray="${s.dash.map((d) => n(Math.max(toPixels(d, frame), 0.01))).join(',')}"`;
  return out;
}

/** How far outside the image a feature can still paint, in pixels. */
export function reachOf(style: Style, frame: Frame): number {
  let reach = 1;
  const visit = (layers: SymbolLayer[]) => {
    for (const l of layers) {
      const stroke = l.stroke;
      const strokeWidth = stroke ? toPixels(stroke.width, frame) || 1 : 0;
      const size = l.type === 'marker' ? toPixels(l.size, frame) * Math.SQRT2 : 0;
      reach = Math.max(reach, size / 2 + strokeWidth);
    }
  };
  const r = style.renderer;
  if (r.type === 'single') visit(r.symbol.layers);
  else if (r.type === 'categorized') { r.categories.forEach((c) => visit(c.symbol.layers)); if (r.fallback) visit(r.fallback.layers); }
  else if (r.type === 'graduated') r.ranges.forEach((g) => visit(g.symbol.layers));
  else {
    const walk = (rules: typeof r.rules) => rules.forEach((x) => { if (x.symbol) visit(x.symbol.layers); walk(x.children); });
    walk(r.rules);
  }
  return Math.ceil(reach) + 2;
}

function pathOf(points: ArrayLike<number>, close: boolean): string {
  let d = `M${n(points[0])} ${n(points[1])}`;
  for (let i = 2; i < points.length; i += 2) d += `L${n(points[i])} ${n(points[i + 1])}`;
  return close ? `${d}Z` : d;
}

function marker(l: Extract<SymbolLayer, { type: 'marker' }>, x: number, y: number, frame: Frame): string {
  const half = toPixels(l.size, frame) / 2;
  const stroke = strokeAttrs(l.stroke, frame);
  if (l.shape === 'circle') return `<circle cx="${n(x)}" cy="${n(y)}" r="${n(half)}"${paint('fill', l.fill)}${stroke}/>`;
  const polygon = POLYGONS[l.shape];
  if (polygon) {
    const pts = placed(polygon.flat(), half, l.angle);
    for (let i = 0; i < pts.length; i += 2) { pts[i] += x; pts[i + 1] += y; }
    return `<path d="${pathOf(pts, true)}"${paint('fill', l.fill)}${stroke}/>`;
  }
  let d = '';
  for (const seg of SEGMENTS[l.shape] ?? []) {
    const p = placed(seg, half, l.angle);
    d += `M${n(x + p[0])} ${n(y + p[1])}L${n(x + p[2])} ${n(y + p[3])}`;
  }
  return `<path d="${d}" fill="none"${stroke}/>`;
}

/** Elements drawing one feature's parts with one symbol layer; '' when they do not apply. */
function draw(l: SymbolLayer, kind: GeometryKind, parts: Float32Array[], clip: Rect, frame: Frame): string {
  if (kind === GeometryKind.Polygon && l.type === 'fill') {
    let d = '';
    for (const ring of parts) { const c = clipRing(ring, clip); if (c.length) d += pathOf(c, true); }
    return d ? `<path d="${d}" fill-rule="evenodd"${paint('fill', l.fill)}${strokeAttrs(l.stroke, frame)}/>` : '';
  }
  if (kind === GeometryKind.Line && l.type === 'line') {
    let d = '';
    for (const line of parts) for (const piece of clipLine(line, clip)) d += pathOf(piece, false);
    return d ? `<path d="${d}" fill="none"${strokeAttrs(l.stroke, frame)}/>` : '';
  }
  if (kind === GeometryKind.Point && l.type === 'marker') {
    let out = '';
    for (const p of parts) {
      if (p[0] >= clip.minx && p[0] <= clip.maxx && p[1] >= clip.miny && p[1] <= clip.maxy) out += marker(l, p[0], p[1], frame);
    }
    return out;
  }
  return '';
}

function layerBody(layer: RenderLayer, frame: Frame, scale: number, throwIfAbandoned?: () => void): string {
  const { style, geometries: g } = layer;
  const reach = reachOf(style, frame);
  const clip: Rect = { minx: -reach, miny: -reach, maxx: frame.width + reach, maxy: frame.height + reach };
  let body = '';
  for (let f = 0; f < g.kinds.length; f++) {
    if ((f & 1023) === 0) throwIfAbandoned?.();
    const symbols = symbolsFor(style.renderer, g.fields[f], scale);
    if (!symbols.length) continue;
    const parts: Float32Array[] = [];
    for (let p = g.featureParts[f]; p < g.featureParts[f + 1]; p++) {
      parts.push(g.coords.subarray(2 * g.partStarts[p], 2 * g.partStarts[p + 1]));
    }
    for (const symbol of symbols) for (const l of symbol.layers) body += draw(l, g.kinds[f], parts, clip, frame);
  }
  return body;
}

/** The SVG for the layers over one frame; null when nothing would be drawn. `throwIfAbandoned`: see layer-render.ts. */
export function renderSvg(layers: RenderLayer[], frame: Frame, throwIfAbandoned?: () => void): string | null {
  const scale = scaleDenominator(frame);
  let content = '';
  for (const layer of layers) {
    if (!visibleAt(layer.style.scale, scale) || layer.style.opacity <= 0) continue;
    const body = layerBody(layer, frame, scale, throwIfAbandoned);
    if (!body) continue;
    content += layer.style.opacity < 1 ? `<g opacity="${n(layer.style.opacity)}">${body}</g>` : body;
  }
  if (!content) return null;
  const { width: w, height: h } = frame;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${content}</svg>`;
}
