// Server zones: every request is counted against the API area its URL belongs to, as nginx counts
// requests per `status_zone`. The URL → zone mapping is the one table below.

export const ZONE_NAMES = ['resource', 'feature', 'tiles', 'render', 'identify', 'auth', 'management', 'monitor'] as const;
export type ZoneName = (typeof ZONE_NAMES)[number];

export interface ZoneRule {
  zone: ZoneName;
  pattern: RegExp;
  /** The tile routes, whose latency the Prometheus tile histogram records. */
  tile?: boolean;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** First match wins; a URL that matches no row (e.g. the viewer's pages) counts in http/requests only. */
export function zoneTable(monitorPath: string): ZoneRule[] {
  return [
    { zone: 'monitor', pattern: new RegExp(`^(${escape(monitorPath)}(/|$)|/metrics$)`) },
    { zone: 'tiles', pattern: /^\/api\/component\/feature_layer\/mvt$/, tile: true },
    { zone: 'tiles', pattern: /^\/api\/resource\/\d+\/\d+\/\d+\/\d+\.mvt$/, tile: true },
    { zone: 'render', pattern: /^\/api\/component\/render\/tile$/, tile: true },
    { zone: 'render', pattern: /^\/resource\/\d+\/tms$/, tile: true },
    { zone: 'render', pattern: /^\/api\/component\/render\// },
    { zone: 'identify', pattern: /^(\/api)?\/feature_layer\/identify$/ },
    { zone: 'auth', pattern: /^\/api\/component\/auth\// },
    { zone: 'management', pattern: /^\/(cache|pool|plugins|farm)(\/|$)/ },
    { zone: 'feature', pattern: /^(\/api)?\/resource\/\d+\/(feature|feature_count|extent|geojson|csv|export)(\/|$)/ },
    { zone: 'resource', pattern: /^\/api\/resource(\/|$)/ },
  ];
}

export function classify(table: ZoneRule[], path: string): ZoneRule | undefined {
  for (const rule of table) if (rule.pattern.test(path)) return rule;
  return undefined;
}

/** One zone's counters: plain numbers, updated in place on every request. */
export class ZoneStats {
  /** In flight now: a gauge, so a reset leaves it alone (as nginx does). */
  processing = 0;
  requests = 0;
  discarded = 0;
  received = 0;
  sent = 0;
  /** Responses by class: index 0 is 1xx … index 4 is 5xx. */
  readonly classes = [0, 0, 0, 0, 0];
  codes: Record<number, number> = {};

  respond(status: number): void {
    const cls = Math.floor(status / 100) - 1;
    if (cls >= 0 && cls < 5) this.classes[cls]++;
    this.codes[status] = (this.codes[status] ?? 0) + 1;
  }

  reset(): void {
    this.requests = this.discarded = this.received = this.sent = 0;
    this.classes.fill(0);
    this.codes = {};
  }

  toJSON() {
    const [c1, c2, c3, c4, c5] = this.classes;
    return {
      processing: this.processing,
      requests: this.requests,
      responses: { '1xx': c1, '2xx': c2, '3xx': c3, '4xx': c4, '5xx': c5, codes: { ...this.codes }, total: c1 + c2 + c3 + c4 + c5 },
      discarded: this.discarded,
      received: this.received,
      sent: this.sent,
    };
  }
}
