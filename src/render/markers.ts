// SimpleMarker shapes as QGIS draws them (QgsSimpleMarkerSymbolLayerBase::shapeToPolygon):
// points on a unit half-size, y down. Line shapes are drawn with the stroke only.
import type { MarkerShape } from './style.js';

const regular = (n: number, radius = 1, innerRadius?: number): [number, number][] => {
  const pts: [number, number][] = [];
  const steps = innerRadius === undefined ? n : 2 * n;
  for (let k = 0; k < steps; k++) {
    const r = innerRadius !== undefined && k % 2 === 1 ? innerRadius : radius;
    const a = -Math.PI / 2 + (2 * Math.PI * k) / steps;
    pts.push([r * Math.cos(a), r * Math.sin(a)]);
  }
  return pts;
};

const STAR_INNER = Math.cos(72 * Math.PI / 180) / Math.cos(36 * Math.PI / 180);

/** Closed outline shapes. */
export const POLYGONS: Partial<Record<MarkerShape, [number, number][]>> = {
  square: [[-1, -1], [1, -1], [1, 1], [-1, 1]],
  diamond: [[-1, 0], [0, 1], [1, 0], [0, -1]],
  triangle: [[-1, 1], [1, 1], [0, -1]],
  equilateral_triangle: [[-0.866, 0.5], [0.866, 0.5], [0, -1]],
  pentagon: regular(5),
  hexagon: regular(6),
  octagon: [[-0.4142, -1], [0.4142, -1], [1, -0.4142], [1, 0.4142], [0.4142, 1], [-0.4142, 1], [-1, 0.4142], [-1, -0.4142]],
  star: regular(5, 1, STAR_INNER),
  cross_fill: [[1, 0.2], [1, -0.2], [0.2, -0.2], [0.2, -1], [-0.2, -1], [-0.2, -0.2], [-1, -0.2], [-1, 0.2],
    [-0.2, 0.2], [-0.2, 1], [0.2, 1], [0.2, 0.2]],
};

/** Open shapes: segments drawn by the pen. */
export const SEGMENTS: Partial<Record<MarkerShape, [number, number, number, number][]>> = {
  cross: [[-1, 0, 1, 0], [0, -1, 0, 1]],
  cross2: [[-1, -1, 1, 1], [-1, 1, 1, -1]],
  line: [[0, -1, 0, 1]],
};

/** A shape's points scaled to `half` pixels and turned `angle` degrees clockwise. */
export function placed(points: number[], half: number, angle: number): number[] {
  const a = angle * Math.PI / 180, c = Math.cos(a) * half, s = Math.sin(a) * half;
  const out = new Array<number>(points.length);
  for (let i = 0; i < points.length; i += 2) {
    out[i] = points[i] * c - points[i + 1] * s;
    out[i + 1] = points[i] * s + points[i + 1] * c;
  }
  return out;
}
