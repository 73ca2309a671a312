// Whether a polygon's rings cross, found with bounded work. Within a ring any contact counts but
// the vertex that neighbouring edges share; two rings (a shell and its hole, two polygons of a
// multipolygon) may touch at points, as OGC's simple features allow, but not cross or share a
// stretch of edge. Edges are indexed by their
// boxes and each pair whose boxes overlap is tested once, stopping at the first contact; a shape
// whose edges' boxes overlap so much that the tests would pass a budget is refused rather than
// checked (a client's shape, so the work it may cost is capped: a sweep that collects every
// crossing spent minutes and the whole heap on a polygon of thousands of overlapping holes).
import Flatbush from 'flatbush';
import type { Position } from 'geojson';

/** Pairs of edges whose boxes overlap that may be tested: some tens of milliseconds. */
export const MAX_EDGE_TESTS = 2_000_000;

export type Crossing = { at: Position } | { tooIntricate: true } | null;

/** Twice the signed area of a, b, c: > 0 when c lies left of a → b. */
const orient = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number) => (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);

/** Whether c, collinear with a → b, lies within its box (so on the segment). */
const within = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number) =>
  Math.min(ax, bx) <= cx && cx <= Math.max(ax, bx) && Math.min(ay, by) <= cy && cy <= Math.max(ay, by);

/**
 * The first point where two edges of `rings` (closed: first point = last) meet as the head of this
 * file says they must not; null when none do. Repeated consecutive points are one vertex. A spike
 * (an edge going straight back along the one before) is a contact.
 */
export function firstCrossing(rings: Position[][]): Crossing {
  // Edges as x1, y1, x2, y2; per edge its ring's first and last edge, to tell neighbours apart.
  const coords: number[] = [], ringFirst: number[] = [], ringLast: number[] = [];
  for (const ring of rings) {
    const first = coords.length / 4;
    let px = ring[0][0], py = ring[0][1];
    for (let k = 1; k < ring.length; k++) {
      const x = ring[k][0], y = ring[k][1];
      if (x === px && y === py) continue;
      coords.push(px, py, x, y);
      px = x; py = y;
    }
    const last = coords.length / 4 - 1;
    for (let e = first; e <= last; e++) { ringFirst.push(first); ringLast.push(last); }
  }
  const edges = coords.length / 4;
  if (edges < 2) return null;
  const index = new Flatbush(edges);
  for (let e = 0; e < edges; e++) {
    const o = e * 4;
    index.add(Math.min(coords[o], coords[o + 2]), Math.min(coords[o + 1], coords[o + 3]), Math.max(coords[o], coords[o + 2]), Math.max(coords[o + 1], coords[o + 3]));
  }
  index.finish();

  let tests = 0;
  let found: Crossing = null;
  for (let i = 0; i < edges && !found; i++) {
    const o = i * 4;
    const ax = coords[o], ay = coords[o + 1], bx = coords[o + 2], by = coords[o + 3];
    index.search(Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by), (j) => {
      if (found || j <= i) return false;
      if (++tests > MAX_EDGE_TESTS) { found = { tooIntricate: true }; return false; }
      const q = j * 4;
      const cx = coords[q], cy = coords[q + 1], dx = coords[q + 2], dy = coords[q + 3];
      // Neighbours in a ring share a vertex: they meet elsewhere only by folding back along each other.
      const next = ringFirst[i] === ringFirst[j] && (j === i + 1 || (i === ringFirst[i] && j === ringLast[i] && j > i + 1));
      if (next) {
        const [sx, sy, ux, uy, vx, vy] = j === i + 1 ? [ax, ay, bx, by, dx, dy] : [cx, cy, ax, ay, bx, by];
        if (orient(sx, sy, ux, uy, vx, vy) === 0 && (ux - sx) * (vx - ux) + (uy - sy) * (vy - uy) < 0) found = { at: [ux, uy] };
        return false;
      }
      const d1 = orient(cx, cy, dx, dy, ax, ay), d2 = orient(cx, cy, dx, dy, bx, by);
      const d3 = orient(ax, ay, bx, by, cx, cy), d4 = orient(ax, ay, bx, by, dx, dy);
      if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) {
        const t = d1 / (d1 - d2);
        found = { at: [ax + t * (bx - ax), ay + t * (by - ay)] };
      } else if (ringFirst[i] !== ringFirst[j]) {
        // Two rings: a touch at a point is allowed, a stretch of edge in common is not.
        if (d1 === 0 && d2 === 0) found = sharedStretch(ax, ay, bx, by, cx, cy, dx, dy);
      } else if (d1 === 0 && within(cx, cy, dx, dy, ax, ay)) found = { at: [ax, ay] };
      else if (d2 === 0 && within(cx, cy, dx, dy, bx, by)) found = { at: [bx, by] };
      else if (d3 === 0 && within(ax, ay, bx, by, cx, cy)) found = { at: [cx, cy] };
      else if (d4 === 0 && within(ax, ay, bx, by, dx, dy)) found = { at: [dx, dy] };
      return false;
    });
  }
  return found;
}

/** Where collinear edges a → b and c → d overlap along more than a point (their overlap's start), else null. */
function sharedStretch(ax: number, ay: number, bx: number, by: number, cx: number, cy: number, dx: number, dy: number): Crossing {
  // Along the axis the edges extend most in (a vertical edge has no extent in x).
  const alongX = Math.abs(bx - ax) >= Math.abs(by - ay);
  const [a, b, c, d] = alongX ? [ax, bx, cx, dx] : [ay, by, cy, dy];
  const from = Math.max(Math.min(a, b), Math.min(c, d)), to = Math.min(Math.max(a, b), Math.max(c, d));
  if (from >= to) return null;
  const t = (from - a) / (b - a);
  return { at: [ax + t * (bx - ax), ay + t * (by - ay)] };
}
