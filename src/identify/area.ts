// An identify shape prepared for testing many features against it.
//
// Exact tests (Turf) cost time proportional to the shape's vertices, and a continent-sized polygon
// has tens of thousands. So a polygonal shape is first laid over a grid: every cell that any edge
// passes through (or nearly) is a "boundary" cell; every other cell lies wholly inside or wholly
// outside the shape, and one Turf point-in-polygon test per connected group of such cells says
// which. A feature (or feature part) whose bounding box only covers inside cells certainly
// intersects; one that only covers outside cells certainly does not; summed-area tables count the
// cells under any box at once. Only the rest — near the boundary — get the Turf test, against the
// stretch of outline around them (local-shape.ts).
import { booleanIntersects } from '@turf/turf';
import type { Geometry, LineString, MultiPoint, MultiPolygon, Point, Polygon, Position } from 'geojson';
import { bboxOf } from '../store/memory-layer.js';
import { BoxVerdict, type BBox, type GeometryPart, type SpatialFilter } from '../store/types.js';
import { vertexCount } from '../common/coordinates.js';
import { clip, grown, LEAF_VERTICES, LocalShapes } from './local-shape.js';
import { positionsOf, ringsOf } from './shape.js';

const enum Cell { Boundary = 0, Inside = 1, Outside = 2 }

/** Grid size: enough cells that the boundary is a thin band, few enough to build in a millisecond or two. */
const MIN_CELLS = 1024;
const MAX_CELLS = 65536;
/** Each connected group of cells costs one point-in-polygon test; past this many, cells stay undecided. */
const MAX_GROUPS = 4096;
/** Edges mark cells within this fraction of a cell, so rounding in cell arithmetic never misplaces a feature. */
const MARGIN = 1e-6;

class CellGrid {
  readonly cells: Uint8Array;
  readonly cw: number;
  readonly ch: number;

  constructor(readonly box: BBox, readonly nx: number, readonly ny: number) {
    this.cells = new Uint8Array(nx * ny); // all Boundary until classified
    this.cw = (box[2] - box[0]) / nx;
    this.ch = (box[3] - box[1]) / ny;
  }

  /** Inside and outside cell counts as summed-area tables, so any range of cells is counted at once. */
  private insideSums: Int32Array | null = null;
  private outsideSums: Int32Array | null = null;

  summarise(): void {
    const w = this.nx + 1;
    this.insideSums = new Int32Array(w * (this.ny + 1));
    this.outsideSums = new Int32Array(w * (this.ny + 1));
    for (let j = 0; j < this.ny; j++) {
      for (let i = 0; i < this.nx; i++) {
        const c = this.cells[j * this.nx + i], at = (j + 1) * w + i + 1;
        for (const [sums, label] of [[this.insideSums, Cell.Inside], [this.outsideSums, Cell.Outside]] as const) {
          sums[at] = (c === label ? 1 : 0) + sums[at - 1] + sums[at - w] - sums[at - w - 1];
        }
      }
    }
  }

  /** How many cells of columns i0..i1 and rows j0..j1 are inside, and how many outside. */
  count(i0: number, j0: number, i1: number, j1: number): [inside: number, outside: number] {
    const w = this.nx + 1;
    const sum = (t: Int32Array) => t[(j1 + 1) * w + i1 + 1] - t[j0 * w + i1 + 1] - t[(j1 + 1) * w + i0] + t[j0 * w + i0];
    return [sum(this.insideSums!), sum(this.outsideSums!)];
  }

  col(x: number): number {
    return Math.min(this.nx - 1, Math.max(0, Math.floor((x - this.box[0]) / this.cw)));
  }

  row(y: number): number {
    return Math.min(this.ny - 1, Math.max(0, Math.floor((y - this.box[1]) / this.ch)));
  }
}

function gridFor(box: BBox, vertices: number): CellGrid | null {
  const w = box[2] - box[0], h = box[3] - box[1];
  if (!(w > 0 && h > 0)) return null;
  const target = Math.min(MAX_CELLS, Math.max(MIN_CELLS, vertices * 16));
  const nx = Math.max(1, Math.min(1024, Math.round(Math.sqrt((target * w) / h))));
  const ny = Math.max(1, Math.min(1024, Math.round(target / nx)));
  return new CellGrid(box, nx, ny);
}

/** Marks as boundary every cell the segment a→b passes through or nearly touches. */
function markSegment(grid: CellGrid, a: Position, b: Position, touched: Uint8Array): void {
  const ex = grid.cw * MARGIN, ey = grid.ch * MARGIN;
  const ylo = Math.min(a[1], b[1]), yhi = Math.max(a[1], b[1]);
  const j0 = grid.row(ylo - ey), j1 = grid.row(yhi + ey);
  const dy = b[1] - a[1];
  const xAt = (y: number) => (dy === 0 ? a[0] : a[0] + ((y - a[1]) / dy) * (b[0] - a[0]));
  for (let j = j0; j <= j1; j++) {
    // The part of the segment inside this row of cells, as an x range.
    const bandLo = Math.max(ylo, grid.box[1] + j * grid.ch), bandHi = Math.min(yhi, grid.box[1] + (j + 1) * grid.ch);
    let xlo: number, xhi: number;
    if (dy === 0 || bandLo > bandHi) { xlo = Math.min(a[0], b[0]); xhi = Math.max(a[0], b[0]); }
    else { const p = xAt(bandLo), q = xAt(bandHi); xlo = Math.min(p, q); xhi = Math.max(p, q); }
    const i0 = grid.col(xlo - ex), i1 = grid.col(xhi + ex);
    for (let i = i0; i <= i1; i++) touched[j * grid.nx + i] = 1;
  }
}

/** Labels the cells no edge touches as inside or outside, one Turf test per connected group. */
function classifyCells(grid: CellGrid, shape: Polygon | MultiPolygon, local: LocalShapes): void {
  const touched = new Uint8Array(grid.cells.length);
  for (const ring of ringsOf(shape)) {
    for (let k = 1; k < ring.length; k++) markSegment(grid, ring[k - 1], ring[k], touched);
  }
  const { nx, ny, cells } = grid;
  const stack: number[] = [];
  let groups = 0;
  for (let start = 0; start < cells.length && groups < MAX_GROUPS; start++) {
    if (touched[start] || cells[start] !== Cell.Boundary) continue;
    groups++;
    const i = start % nx, j = (start - i) / nx;
    const centre = [grid.box[0] + (i + 0.5) * grid.cw, grid.box[1] + (j + 0.5) * grid.ch];
    const label = local.contains(centre) ? Cell.Inside : Cell.Outside;
    cells[start] = label;
    stack.push(start);
    while (stack.length) {
      const c = stack.pop()!;
      const ci = c % nx;
      const next = [ci > 0 ? c - 1 : -1, ci < nx - 1 ? c + 1 : -1, c >= nx ? c - nx : -1, c < nx * (ny - 1) ? c + nx : -1];
      for (const n of next) {
        if (n >= 0 && !touched[n] && cells[n] === Cell.Boundary) { cells[n] = label; stack.push(n); }
      }
    }
  }
}

type Part = Point | LineString | Polygon;

/** A feature's parts: each point, line and polygon of a multi-geometry on its own. */
function partsOf(g: Geometry): Part[] {
  switch (g.type) {
    case 'MultiPoint': return g.coordinates.map((coordinates) => ({ type: 'Point', coordinates }));
    case 'MultiLineString': return g.coordinates.map((coordinates) => ({ type: 'LineString', coordinates }));
    case 'MultiPolygon': return g.coordinates.map((coordinates) => ({ type: 'Polygon', coordinates }));
    case 'GeometryCollection': return g.geometries.flatMap(partsOf);
    default: return [g];
  }
}

/** Runs of at most LEAF_VERTICES positions, each run's last the next one's first when `overlap` (a line's). */
function runs(positions: Position[], overlap: boolean): Position[][] {
  const out: Position[][] = [];
  const step = overlap ? LEAF_VERTICES - 1 : LEAF_VERTICES;
  for (let i = 0; i < positions.length - (overlap ? 1 : 0); i += step) out.push(positions.slice(i, i + LEAF_VERTICES));
  return out;
}

/**
 * A shape of many vertices as small parts whose union it is: a multipolygon's polygons, a line's
 * runs of vertices, a cloud's runs of points; null for a shape that is one small part.
 */
function smallParts(shape: Geometry): Geometry[] | null {
  switch (shape.type) {
    case 'MultiPolygon':
      return shape.coordinates.length < 2 ? null : shape.coordinates.map((coordinates): Polygon => ({ type: 'Polygon', coordinates }));
    case 'LineString': case 'MultiLineString': {
      const lines = shape.type === 'LineString' ? [shape.coordinates] : shape.coordinates;
      if (lines.length < 2 && (lines[0]?.length ?? 0) <= LEAF_VERTICES) return null;
      return lines.flatMap((line) => runs(line, true).map((coordinates): LineString => ({ type: 'LineString', coordinates })));
    }
    case 'MultiPoint':
      return shape.coordinates.length <= LEAF_VERTICES ? null : runs(shape.coordinates, false).map((coordinates): MultiPoint => ({ type: 'MultiPoint', coordinates }));
    default:
      return null;
  }
}

/**
 * Whether `piece` (of a feature, clipped to the shape's box) meets `shape` (the shape around the
 * piece). Turf's test costs about the product of both sides' vertices, so a big polygon against a
 * shape of many parts or vertices goes part by part (smallParts), each against only the stretch of
 * the piece around it (cut from the piece as LocalShapes cut the shape): 200 small parts over a
 * feature of 25,000 vertices cost 200 small tests, not 200 tests of the whole feature. Sound as the
 * shape's pieces are: what clipping adds to the piece lies beyond the part's box, which holds all of the part.
 */
function meets(piece: Geometry, shape: Geometry): boolean {
  const parts = (piece.type === 'Polygon' || piece.type === 'MultiPolygon') && vertexCount(piece) > LEAF_VERTICES ? smallParts(shape) : null;
  if (!parts) return booleanIntersects(piece, shape);
  const [px0, py0, px1, py1] = bboxOf(piece);
  const around = new LocalShapes(piece as Polygon | MultiPolygon, [px0, py0, px1, py1]);
  for (const part of parts) {
    const box = bboxOf(part);
    if (box[0] > px1 || box[2] < px0 || box[1] > py1 || box[3] < py0) continue;
    const near = around.around(box);
    if (near && booleanIntersects(near, part)) return true;
  }
  return false;
}

/**
 * A shape in EPSG:4326, ready for `FeatureQuery.area`. The grid and local pieces are made on the
 * first test, so an area searched in a worker costs the main thread nothing but its bounds.
 */
export class PreparedArea implements SpatialFilter {
  readonly bbox: BBox;
  readonly clipBox: BBox;
  private made: { grid: CellGrid | null; local: LocalShapes | null } | null = null;

  readonly shape: Geometry;
  /** A polygon or multipolygon: one with an inside, which the grid and LocalShapes.contains tell. */
  private readonly polygonal: boolean;

  constructor(shape: Geometry) {
    // Turf's tests read one level of GEOMETRYCOLLECTION (a deeper one threw): its parts, opened, are the same shape.
    this.shape = shape.type === 'GeometryCollection' ? { type: 'GeometryCollection', geometries: partsOf(shape) } : shape;
    this.bbox = bboxOf(shape);
    this.clipBox = grown(this.bbox);
    this.polygonal = shape.type === 'Polygon' || shape.type === 'MultiPolygon';
  }

  private prepared(): { grid: CellGrid | null; local: LocalShapes | null } {
    if (!this.made) {
      const shape = this.shape;
      if (shape.type === 'Polygon' || shape.type === 'MultiPolygon') {
        const local = new LocalShapes(shape, this.bbox);
        const grid = gridFor(this.bbox, ringsOf(shape).reduce((n, r) => n + r.length, 0));
        if (grid) { classifyCells(grid, shape, local); grid.summarise(); }
        this.made = { grid, local };
      } else {
        // Lines and points have no inside for a grid to tell; they are cut into local pieces alike.
        const cut = shape.type === 'LineString' || shape.type === 'MultiLineString' || shape.type === 'MultiPoint';
        this.made = { grid: null, local: cut ? new LocalShapes(shape, this.bbox) : null };
      }
    }
    return this.made;
  }

  classify(minx: number, miny: number, maxx: number, maxy: number): BoxVerdict {
    const [bx0, by0, bx1, by1] = this.bbox;
    if (minx > bx1 || maxx < bx0 || miny > by1 || maxy < by0) return BoxVerdict.None;
    const grid = this.prepared().grid;
    if (!grid) return BoxVerdict.Unknown;
    const i0 = grid.col(minx), i1 = grid.col(maxx), j0 = grid.row(miny), j1 = grid.row(maxy);
    const cells = (i1 - i0 + 1) * (j1 - j0 + 1);
    const [inside, outside] = grid.count(i0, j0, i1, j1);
    // Parts of the box beyond the grid are outside the shape: such a box is never wholly inside.
    const spills = minx < bx0 || maxx > bx1 || miny < by0 || maxy > by1;
    if (inside === cells && !spills) return BoxVerdict.All;
    if (outside === cells) return BoxVerdict.None;
    return BoxVerdict.Unknown;
  }

  intersects(g: Geometry): boolean {
    return this.intersectsParts(partsOf(g).map((part) => ({
      box: bboxOf(part), coords: positionsOf(part).flat(), geometry: () => part,
    })));
  }

  /** Whether a vertex lies in an inside cell: then the part certainly meets the shape. */
  private vertexInside(coords: ArrayLike<number>): boolean {
    const grid = this.prepared().grid;
    if (!grid) return false;
    const [bx0, by0, bx1, by1] = this.bbox;
    for (let k = 0; k < coords.length; k += 2) {
      const x = coords[k], y = coords[k + 1];
      if (x < bx0 || x > bx1 || y < by0 || y > by1) continue;
      if (grid.cells[grid.row(y) * grid.nx + grid.col(x)] === Cell.Inside) return true;
    }
    return false;
  }

  intersectsParts(parts: Iterable<GeometryPart>): boolean {
    const { local } = this.prepared();
    // Part by part: the grid settles the parts far from the shape's outline; Turf tests the rest,
    // each against only the stretch of the shape around it (Turf's tests are quadratic).
    for (const part of parts) {
      const [x0, y0, x1, y1] = part.box;
      const verdict = this.classify(x0, y0, x1, y1);
      if (verdict === BoxVerdict.All) return true;
      if (verdict === BoxVerdict.None) continue;
      if (this.vertexInside(part.coords)) return true;
      for (const piece of partsOf(part.geometry())) {
        if (!this.polygonal) {
          // A point or line shape: the piece is clipped to the shape's box first (a country's
          // coast costs one clip, not Turf's test of every edge), and tested against the stretch
          // of the shape around the part (a 100,000-vertex line took seconds against each country).
          const localShape = local ? local.around(part.box) : this.shape;
          const localPart = localShape && clip(piece, this.clipBox);
          if (localShape && localPart && meets(localPart, localShape)) return true;
        } else if (piece.type === 'Point') {
          // Points are most features of big layers; the direct test skips booleanIntersects' bookkeeping.
          if (local!.contains(piece.coordinates)) return true;
        } else {
          const localShape = local!.around(part.box);
          const localPart = localShape && clip(piece, this.clipBox);
          if (localShape && localPart && meets(localPart, localShape)) return true;
        }
      }
    }
    return false;
  }
}
