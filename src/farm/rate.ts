// Tiles per second over the last few seconds, for workers and jobs (rate and ETA).
const WINDOW_SECONDS = 10;

export class RateMeter {
  /** Whole second → tiles counted in it. */
  private readonly buckets = new Map<number, number>();

  add(n = 1, now = Date.now()): void {
    const second = Math.floor(now / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + n);
    for (const s of this.buckets.keys()) if (s <= second - WINDOW_SECONDS) this.buckets.delete(s);
  }

  /** Tiles per second over the window, or since counting began when that is shorter. */
  rate(now = Date.now()): number {
    const second = Math.floor(now / 1000);
    let n = 0;
    for (const [s, count] of this.buckets) if (s > second - WINDOW_SECONDS) n += count;
    // Seconds since the first counted one, the current one included.
    const span = Math.min(WINDOW_SECONDS, second - Math.min(second, ...this.buckets.keys()) + 1);
    return n / span;
  }
}
