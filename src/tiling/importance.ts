// Per-vertex importance for Douglas–Peucker simplification, computed once per layer (as
// geojson-vt does): a vertex's importance is the squared distance at which DP would keep it.
// Keeping the vertices whose importance exceeds tolerance² gives the DP result at that tolerance,
// so each zoom's simplification is a threshold, not a new copy of the geometry.

/** Squared distance from (px, py) to the segment (ax, ay)–(bx, by). */
function sqSegmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  let x = ax, y = ay;
  let dx = bx - x, dy = by - y;
  if (dx !== 0 || dy !== 0) {
    const t = ((px - x) * dx + (py - y) * dy) / (dx * dx + dy * dy);
    if (t > 1) { x = bx; y = by; } else if (t > 0) { x += dx * t; y += dy * t; }
  }
  dx = px - x;
  dy = py - y;
  return dx * dx + dy * dy;
}

/**
 * Writes the importance of vertices first..last (inclusive) of `coords` (x, y pairs) into `out`.
 * Ends are always kept (Infinity). A vertex never outranks the split that exposed it, so any
 * threshold yields a proper DP simplification. Iterative: rings can have millions of vertices.
 */
export function markImportance(coords: Float64Array, first: number, last: number, out: Float32Array): void {
  out[first] = Infinity;
  out[last] = Infinity;
  if (last - first < 2) return;
  const stack: number[] = [first, last, Infinity];
  while (stack.length) {
    const cap = stack.pop()!, b = stack.pop()!, a = stack.pop()!;
    const ax = coords[2 * a], ay = coords[2 * a + 1], bx = coords[2 * b], by = coords[2 * b + 1];
    const mid = (a + b) >> 1;
    let best = -1, bestDist = -1, bestToMid = Infinity;
    for (let i = a + 1; i < b; i++) {
      const d = sqSegmentDistance(coords[2 * i], coords[2 * i + 1], ax, ay, bx, by);
      if (d > bestDist || (d === bestDist && Math.abs(i - mid) < bestToMid)) {
        best = i; bestDist = d; bestToMid = Math.abs(i - mid);
      }
    }
    const importance = Math.min(bestDist, cap);
    out[best] = importance;
    if (best - a > 1) stack.push(a, best, importance);
    if (b - best > 1) stack.push(best, b, importance);
  }
}
