// Clipping to a rectangle a little larger than the image, so that far-off vertices (a country at
// zoom 15 spans millions of pixels) never reach the rasterizer. The margin keeps the edges that
// clipping invents out of sight, strokes included.
export interface Rect { minx: number; miny: number; maxx: number; maxy: number }

type Inside = (x: number, y: number) => boolean;
type Cross = (ax: number, ay: number, bx: number, by: number) => [number, number];

function clipEdge(ring: number[], inside: Inside, cross: Cross): number[] {
  const out: number[] = [];
  const n = ring.length / 2;
  for (let i = 0; i < n; i++) {
    const ax = ring[2 * ((i + n - 1) % n)], ay = ring[2 * ((i + n - 1) % n) + 1];
    const bx = ring[2 * i], by = ring[2 * i + 1];
    const aIn = inside(ax, ay), bIn = inside(bx, by);
    if (bIn) {
      if (!aIn) out.push(...cross(ax, ay, bx, by));
      out.push(bx, by);
    } else if (aIn) out.push(...cross(ax, ay, bx, by));
  }
  return out;
}

const atX = (x: number): Cross => (ax, ay, bx, by) => [x, ay + (by - ay) * (x - ax) / (bx - ax)];
const atY = (y: number): Cross => (ax, ay, bx, by) => [ax + (bx - ax) * (y - ay) / (by - ay), y];

/** Sutherland–Hodgman: a ring (x, y pairs, open or closed) clipped to the rectangle; [] when nothing is left. */
export function clipRing(ring: ArrayLike<number>, r: Rect): number[] {
  let pts = Array.from(ring);
  let inside = true;
  for (let i = 0; i < pts.length && inside; i += 2) {
    inside = pts[i] >= r.minx && pts[i] <= r.maxx && pts[i + 1] >= r.miny && pts[i + 1] <= r.maxy;
  }
  if (inside) return pts;
  pts = clipEdge(pts, (x) => x >= r.minx, atX(r.minx));
  pts = clipEdge(pts, (x) => x <= r.maxx, atX(r.maxx));
  pts = clipEdge(pts, (_, y) => y >= r.miny, atY(r.miny));
  pts = clipEdge(pts, (_, y) => y <= r.maxy, atY(r.maxy));
  return pts.length >= 6 ? pts : [];
}

/** Liang–Barsky per segment: the pieces of a polyline inside the rectangle. */
export function clipLine(line: ArrayLike<number>, r: Rect): number[][] {
  const pieces: number[][] = [];
  let current: number[] | null = null;
  for (let i = 0; i + 3 < line.length; i += 2) {
    const x0 = line[i], y0 = line[i + 1], dx = line[i + 2] - x0, dy = line[i + 3] - y0;
    let t0 = 0, t1 = 1;
    const edges: [number, number][] = [[-dx, x0 - r.minx], [dx, r.maxx - x0], [-dy, y0 - r.miny], [dy, r.maxy - y0]];
    let visible = true;
    for (const [p, q] of edges) {
      if (p === 0) { if (q < 0) { visible = false; break; } continue; }
      const t = q / p;
      if (p < 0) { if (t > t1) { visible = false; break; } if (t > t0) t0 = t; }
      else { if (t < t0) { visible = false; break; } if (t < t1) t1 = t; }
    }
    if (!visible) { current = null; continue; }
    const ax = x0 + t0 * dx, ay = y0 + t0 * dy, bx = x0 + t1 * dx, by = y0 + t1 * dy;
    if (!current || t0 > 0) { current = [ax, ay]; pieces.push(current); }
    current.push(bx, by);
    if (t1 < 1) current = null;
  }
  return pieces;
}
