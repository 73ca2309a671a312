// A big shape cut into local pieces on demand, so that an exact Turf test near one spot costs the
// vertices near that spot, not the whole outline (a continent has tens of thousands; a drawn line
// or a cloud of points as many).
//
// A quadtree over the shape's bounds: each node keeps the shape clipped to (a hair beyond) its box,
// and is split into four children, lazily, while it holds many vertices. Clipping only adds edges
// along the clip box's border (a polygon's) or cuts lines there; whatever is tested lies strictly
// inside that box, so the clipped test answers exactly as the whole one would.
import { bboxClip, booleanPointInPolygon } from '@turf/turf';
import type { Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Polygon, Position } from 'geojson';
import { vertexCount } from '../common/coordinates.js';
import type { BBox } from '../store/types.js';

/** What LocalShapes cut: a shape of many vertices. */
export type Cuttable = Polygon | MultiPolygon | LineString | MultiLineString | MultiPoint;

/** A node with at most this many vertices is tested as it is rather than split. */
export const LEAF_VERTICES = 256;
const MAX_DEPTH = 12;

/** `box` grown a little, so that whatever lies in `box` lies strictly inside the result. */
export function grown(box: BBox): BBox {
  const d = (box[2] - box[0] + box[3] - box[1]) * 1e-6 + 1e-9;
  return [box[0] - d, box[1] - d, box[2] + d, box[3] + d];
}

/** The part of `g` inside `box`, or null when nothing of it is. */
export function clip(g: Geometry, box: BBox): Geometry | null {
  if (g.type === 'Point') return g;
  if (g.type === 'MultiPoint') {
    const inside = g.coordinates.filter(([x, y]) => x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3]);
    return inside.length ? { type: 'MultiPoint', coordinates: inside } : null;
  }
  const clipped = bboxClip(g as Polygon | MultiPolygon | LineString | MultiLineString, box).geometry;
  if (clipped.type === 'MultiPolygon') {
    // A polygon whose outer ring vanished has no area in the box (its holes lie within that ring).
    const kept = clipped.coordinates.filter((p) => p.length > 0);
    return kept.length ? { type: 'MultiPolygon', coordinates: kept } : null;
  }
  return clipped.coordinates.length ? clipped : null;
}

class Node {
  private children: Node[] | null = null;
  readonly vertices: number;

  constructor(readonly box: BBox, readonly shape: Cuttable | null, readonly depth: number) {
    this.vertices = vertexCount(shape);
  }

  /** The child whose box holds all of `b`, made on first use; null when `b` straddles children or this is a leaf. */
  childHolding(b: BBox): Node | null {
    if (this.vertices <= LEAF_VERTICES || this.depth >= MAX_DEPTH) return null;
    const [x0, y0, x1, y1] = this.box;
    const mx = (x0 + x1) / 2, my = (y0 + y1) / 2;
    const col = b[2] <= mx ? 0 : b[0] >= mx ? 1 : -1;
    const row = b[3] <= my ? 0 : b[1] >= my ? 1 : -1;
    if (col < 0 || row < 0) return null;
    this.children ??= [[x0, y0, mx, my], [mx, y0, x1, my], [x0, my, mx, y1], [mx, my, x1, y1]].map((c) => {
      const box = c as BBox;
      return new Node(box, this.shape && (clip(this.shape, grown(box)) as Cuttable | null), this.depth + 1);
    });
    return this.children[row * 2 + col];
  }
}

export class LocalShapes {
  private readonly root: Node;

  constructor(shape: Cuttable, box: BBox) {
    this.root = new Node(box, shape, 0);
  }

  /** The smallest piece whose box holds `b`. */
  private nodeFor(b: BBox): Node {
    let node = this.root;
    for (let next = node.childHolding(b); next; next = node.childHolding(b)) node = next;
    return node;
  }

  /** Whether the shape, a polygonal one (boundary included), holds the point. */
  contains(p: Position): boolean {
    const node = this.nodeFor([p[0], p[1], p[0], p[1]]);
    return node.shape !== null && booleanPointInPolygon(p, node.shape as Polygon | MultiPolygon);
  }

  /** The shape clipped to a hair beyond `b`: tests of anything inside `b` answer as with the whole. */
  around(b: BBox): Geometry | null {
    const node = this.nodeFor(b);
    return node.shape && clip(node.shape, grown(b));
  }
}
