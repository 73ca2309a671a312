// Clipping to the tile's buffered square, on flat x,y arrays in tile units.
// Rings: Sutherland–Hodgman, one axis-aligned edge at a time (a ring stays one ring; edges may run
// along the buffer's border, which the spec allows). Lines: Liang–Barsky per segment, splitting a
// line into the runs that stay inside.
import { Flat64 } from './buffers.js';

export interface ClipBox {
  min: number;
  max: number;
}

/** One Sutherland–Hodgman pass: keeps the side of `axis` (0 = x, 1 = y) at `bound` given by `keepAbove`. */
function clipRingEdge(src: Flat64, dst: Flat64, axis: 0 | 1, bound: number, keepAbove: boolean): void {
  dst.clear();
  const s = src.data, n = src.length;
  if (n === 0) return;
  let px = s[n - 2], py = s[n - 1];
  let pIn = keepAbove ? (axis ? py : px) >= bound : (axis ? py : px) <= bound;
  for (let i = 0; i < n; i += 2) {
    const cx = s[i], cy = s[i + 1];
    const c = axis ? cy : cx;
    const cIn = keepAbove ? c >= bound : c <= bound;
    if (cIn !== pIn) {
      const p = axis ? py : px;
      const t = (bound - p) / (c - p);
      if (axis) dst.push2(px + (cx - px) * t, bound);
      else dst.push2(bound, py + (cy - py) * t);
    }
    if (cIn) dst.push2(cx, cy);
    px = cx; py = cy; pIn = cIn;
  }
}

/** Clips the open ring in `ring` to the box; the result is left in `ring` (`tmp` is scratch). */
export function clipRing(ring: Flat64, tmp: Flat64, box: ClipBox): void {
  clipRingEdge(ring, tmp, 0, box.min, true);
  clipRingEdge(tmp, ring, 0, box.max, false);
  clipRingEdge(ring, tmp, 1, box.min, true);
  clipRingEdge(tmp, ring, 1, box.max, false);
}

// Liang–Barsky state for the segment being clipped (module level: no allocation per segment).
let t0 = 0, t1 = 1;

/** Narrows [t0, t1] by the edge p·t ≤ q; false when the segment misses it entirely. */
function edge(p: number, q: number): boolean {
  if (p === 0) return q >= 0;
  const t = q / p;
  if (p < 0) { if (t > t1) return false; if (t > t0) t0 = t; }
  else { if (t < t0) return false; if (t < t1) t1 = t; }
  return true;
}

/**
 * Clips the line in `line` to the box. Each run inside is appended to `out` (x, y pairs) and its
 * end offset (in numbers) to `ends`.
 */
export function clipLine(line: Flat64, box: ClipBox, out: Flat64, ends: number[]): void {
  const s = line.data, n = line.length;
  const lo = box.min, hi = box.max;
  let open = false;
  for (let i = 2; i < n; i += 2) {
    const ax = s[i - 2], ay = s[i - 1], bx = s[i], by = s[i + 1];
    const dx = bx - ax, dy = by - ay;
    t0 = 0; t1 = 1;
    const visible = edge(-dx, ax - lo) && edge(dx, hi - ax) && edge(-dy, ay - lo) && edge(dy, hi - ay);
    if (!visible) {
      if (open) { ends.push(out.length); open = false; }
      continue;
    }
    if (!open || t0 > 0) {
      if (open) ends.push(out.length);
      out.push2(ax + dx * t0, ay + dy * t0);
      open = true;
    }
    out.push2(ax + dx * t1, ay + dy * t1);
    if (t1 < 1) { ends.push(out.length); open = false; }
  }
  if (open) ends.push(out.length);
}
