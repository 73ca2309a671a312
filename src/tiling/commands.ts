// MVT geometry commands (spec 4.3): MoveTo / LineTo / ClosePath with zigzag-encoded deltas from
// a cursor that carries over between parts. Coordinates are rounded to the tile grid here, and
// whatever rounding makes degenerate (repeated points, rings without area) is dropped. Rings are
// written with the spec's winding: exterior rings have positive surveyor's area in tile
// coordinates (clockwise with y down), interior rings negative.
import { FlatU32 } from './buffers.js';

export const enum GeomType { Point = 1, LineString = 2, Polygon = 3 }

const MOVE_TO = 1, LINE_TO = 2, CLOSE_PATH = 7;

const command = (id: number, count: number) => (id & 7) | (count << 3);
const zigzag = (n: number) => ((n << 1) ^ (n >> 31)) >>> 0;

export class CommandWriter {
  readonly out = new FlatU32();
  private cx = 0;
  private cy = 0;
  private xs = new Int32Array(1024);
  private ys = new Int32Array(1024);

  /** Starts a new feature. */
  reset(): void {
    this.out.clear();
    this.cx = 0;
    this.cy = 0;
  }

  get empty(): boolean {
    return this.out.length === 0;
  }

  /** Points from x, y pairs `xy[from..to)`; returns how many were written. */
  points(xy: ArrayLike<number>, from: number, to: number): number {
    const n = this.round(xy, from, to, false);
    if (n === 0) return 0;
    this.out.push(command(MOVE_TO, n));
    for (let i = 0; i < n; i++) this.step(this.xs[i], this.ys[i]);
    return n;
  }

  /** A line from x, y pairs; false when rounding leaves fewer than two distinct points. */
  line(xy: ArrayLike<number>, from: number, to: number): boolean {
    const n = this.round(xy, from, to, true);
    if (n < 2) return false;
    this.out.push(command(MOVE_TO, 1));
    this.step(this.xs[0], this.ys[0]);
    this.out.push(command(LINE_TO, n - 1));
    for (let i = 1; i < n; i++) this.step(this.xs[i], this.ys[i]);
    return true;
  }

  /**
   * A ring from x, y pairs (closing point optional); written with the winding of an exterior or
   * an interior ring. False when rounding leaves no area.
   */
  ring(xy: ArrayLike<number>, from: number, to: number, exterior: boolean): boolean {
    let n = this.round(xy, from, to, true);
    const xs = this.xs, ys = this.ys;
    if (n > 1 && xs[n - 1] === xs[0] && ys[n - 1] === ys[0]) n--;
    if (n < 3) return false;
    let area = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) area += xs[j] * ys[i] - xs[i] * ys[j];
    if (area === 0) return false;
    const reverse = area > 0 !== exterior;
    this.out.push(command(MOVE_TO, 1));
    const at = (k: number) => (reverse ? (n - k) % n : k);
    this.step(xs[at(0)], ys[at(0)]);
    this.out.push(command(LINE_TO, n - 1));
    for (let k = 1; k < n; k++) this.step(xs[at(k)], ys[at(k)]);
    this.out.push(command(CLOSE_PATH, 1));
    return true;
  }

  private step(x: number, y: number): void {
    this.out.push(zigzag(x - this.cx));
    this.out.push(zigzag(y - this.cy));
    this.cx = x;
    this.cy = y;
  }

  /** Rounds pairs into xs/ys, optionally dropping points equal to the previous one; returns the count. */
  private round(xy: ArrayLike<number>, from: number, to: number, dedupe: boolean): number {
    const pairs = (to - from) >> 1;
    if (pairs > this.xs.length) {
      this.xs = new Int32Array(pairs * 2);
      this.ys = new Int32Array(pairs * 2);
    }
    let n = 0;
    for (let i = from; i < to; i += 2) {
      const x = Math.round(xy[i]), y = Math.round(xy[i + 1]);
      if (dedupe && n > 0 && x === this.xs[n - 1] && y === this.ys[n - 1]) continue;
      this.xs[n] = x;
      this.ys[n] = y;
      n++;
    }
    return n;
  }
}
