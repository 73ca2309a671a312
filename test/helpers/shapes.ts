// Shapes with many vertices, as a polygon drawn by hand has, for identify and intersects tests.

/**
 * A closed ring of `n` vertices around cx, cy, of radii rx and ry waving by a sixth: it never
 * reaches beyond 7/6 of either radius.
 */
export function wavyRing(cx: number, cy: number, rx: number, ry: number, n: number): number[][] {
  const ring = Array.from({ length: n }, (_, k) => {
    const a = (k / n) * 2 * Math.PI, w = 1 + Math.sin(a * 9) / 6;
    return [cx + rx * w * Math.cos(a), cy + ry * w * Math.sin(a)];
  });
  return [...ring, ring[0]];
}
