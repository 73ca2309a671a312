// A Prometheus histogram per zone kept as plain numbers, for the tile latency observed on every tile
// request: prom-client's Histogram validates, copies and hashes its labels on each observation, some
// 6% of a cached tile's throughput. Written in the text exposition format when scraped.
import type { ZoneName } from './zones.js';

interface ZoneCounts {
  /** Observations per bucket (not cumulative), the last one past every bound (+Inf). */
  buckets: Float64Array;
  sum: number;
  count: number;
}

export class LatencyHistogram {
  private readonly zones = new Map<ZoneName, ZoneCounts>();

  /** `bounds` ascending, in seconds; one series per zone, present from the start. */
  constructor(readonly name: string, readonly help: string, private readonly bounds: readonly number[], zones: Iterable<ZoneName>) {
    for (const zone of zones) this.zones.set(zone, { buckets: new Float64Array(bounds.length + 1), sum: 0, count: 0 });
  }

  observe(zone: ZoneName, seconds: number): void {
    const counts = this.zones.get(zone);
    if (!counts) return;
    // A bucket holds what is at most its bound (Prometheus' `le`).
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    counts.buckets[i]++;
    counts.sum += seconds;
    counts.count++;
  }

  /** HELP, TYPE and every series: cumulative buckets, sum and count per zone. */
  exposition(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [zone, { buckets, sum, count }] of this.zones) {
      let below = 0;
      buckets.forEach((n, i) => {
        below += n;
        lines.push(`${this.name}_bucket{le="${i < this.bounds.length ? this.bounds[i] : '+Inf'}",zone="${zone}"} ${below}`);
      });
      lines.push(`${this.name}_sum{zone="${zone}"} ${sum}`, `${this.name}_count{zone="${zone}"} ${count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
