// What a renderable style is, whatever it was read from (QGIS QML or Meridian's JSON style).
// Plain data only, so a style crosses to a worker thread by structured clone.
import type { Expression } from './expression.js';

/** QGIS render units. */
export type Unit = 'MM' | 'Pixel' | 'MapUnit' | 'Point' | 'Inch' | 'RenderMetersInMapUnits';

export interface Length {
  value: number;
  unit: Unit;
}

/** Red, green, blue 0–255 and alpha 0–1. */
export type Rgba = [number, number, number, number];

export interface Stroke {
  color: Rgba;
  /** 0 draws a one-pixel hairline, as Qt's cosmetic pen does in QGIS. */
  width: Length;
  join: 'miter' | 'round' | 'bevel';
  cap: 'butt' | 'round' | 'square';
  /** Dash and gap lengths in the width's unit, already scaled; null for a solid line. */
  dash: Length[] | null;
}

export type MarkerShape =
  | 'circle' | 'square' | 'diamond' | 'triangle' | 'equilateral_triangle' | 'pentagon' | 'hexagon'
  | 'octagon' | 'star' | 'cross' | 'cross2' | 'cross_fill' | 'line';

export type SymbolLayer =
  | { type: 'fill'; fill: Rgba | null; stroke: Stroke | null }
  | { type: 'line'; stroke: Stroke }
  | { type: 'marker'; shape: MarkerShape; size: Length; angle: number; fill: Rgba | null; stroke: Stroke | null };

export interface Symbol {
  layers: SymbolLayer[];
}

export interface Rule {
  /** null: every feature; 'else': features no sibling rule took. */
  filter: Expression | null | 'else';
  symbol: Symbol | null;
  scale: ScaleRange;
  children: Rule[];
}

export type Renderer =
  | { type: 'single'; symbol: Symbol }
  | { type: 'categorized'; field: string; categories: { value: string | null; symbol: Symbol }[]; fallback: Symbol | null }
  | { type: 'graduated'; field: string; ranges: { lower: number; upper: number; symbol: Symbol }[] }
  | { type: 'rules'; rules: Rule[] };

/** Scale denominators as QGIS keeps them: visible while maxScale < scale <= minScale; 0 = no limit. */
export interface ScaleRange {
  minScale: number;
  maxScale: number;
}

export interface Style {
  renderer: Renderer;
  /** The whole layer's opacity, 0–1. */
  opacity: number;
  scale: ScaleRange;
  /** Attribute fields the renderer reads: only these travel with the features. */
  fields: string[];
  /** Parts of the source that are not drawn, for the log. */
  unsupported: string[];
}

export const NO_SCALE_LIMIT: ScaleRange = { minScale: 0, maxScale: 0 };

export function visibleAt(range: ScaleRange, scale: number): boolean {
  return (range.minScale <= 0 || scale <= range.minScale) && (range.maxScale <= 0 || scale > range.maxScale);
}
