// GET /metrics: the monitor's counters in the Prometheus text format (prom-client). Counters and
// gauges are read from the monitor when scraped, so serving requests costs nothing here; only the
// tile latency histogram is fed per (tile) request, with plain numbers (latency-histogram.ts).
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { LatencyHistogram } from './latency-histogram.js';
import type { Monitor } from './monitor.js';
import type { ZoneName } from './zones.js';

type Sample = [labels: Record<string, string>, value: number];

export interface Metrics {
  registry: Registry;
  observeTile(zone: ZoneName, seconds: number): void;
  /** The whole exposition: prom-client's metrics, then the tile histogram. */
  exposition(): Promise<string>;
}

export function createMetrics(monitor: Monitor): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { http, connections } = monitor;
  const zones = () => [...http.zones];
  const caches = () => monitor.cacheNames().map((name) => [name, monitor.cache(name)!] as const);

  /** A metric whose samples are read from the monitor at each scrape. */
  const define = (kind: 'counter' | 'gauge', name: string, help: string, labelNames: string[], read: () => Sample[]) => {
    const Kind = kind === 'counter' ? Counter : Gauge;
    new Kind({
      name, help, labelNames, registers: [registry],
      collect(this: Counter | Gauge) {
        this.reset();
        for (const [labels, value] of read()) {
          if (this instanceof Gauge) this.set(labels, value);
          else this.inc(labels, value);
        }
      },
    });
  };

  define('counter', 'meridian_http_requests_total', 'HTTP requests received.', [], () => [[{}, http.total]]);
  define('gauge', 'meridian_http_requests_current', 'HTTP requests in flight.', [], () => [[{}, http.current]]);
  define('counter', 'meridian_zone_requests_total', 'Requests per server zone.', ['zone'], () => zones().map(([zone, s]) => [{ zone }, s.requests]));
  define('counter', 'meridian_zone_responses_total', 'Responses per server zone and status code.', ['zone', 'code'],
    () => zones().flatMap(([zone, s]) => Object.entries(s.codes).map(([code, n]): Sample => [{ zone, code }, n])));
  define('counter', 'meridian_zone_discarded_total', 'Requests closed by the client before the response, per zone.', ['zone'], () => zones().map(([zone, s]) => [{ zone }, s.discarded]));
  define('gauge', 'meridian_zone_processing', 'Requests in flight per zone.', ['zone'], () => zones().map(([zone, s]) => [{ zone }, s.processing]));
  define('counter', 'meridian_zone_received_bytes_total', 'Bytes received from clients per zone.', ['zone'], () => zones().map(([zone, s]) => [{ zone }, s.received]));
  define('counter', 'meridian_zone_sent_bytes_total', 'Response body bytes sent per zone.', ['zone'], () => zones().map(([zone, s]) => [{ zone }, s.sent]));
  define('counter', 'meridian_connections_accepted_total', 'Client connections accepted.', [], () => [[{}, connections.accepted]]);
  define('counter', 'meridian_connections_dropped_total', 'Client connections dropped.', [], () => [[{}, connections.dropped]]);
  define('gauge', 'meridian_connections_active', 'Client connections open.', [], () => [[{}, connections.active]]);
  define('gauge', 'meridian_connections_idle', 'Open client connections with no request in flight.', [], () => [[{}, connections.toJSON(http.current).idle]]);
  define('counter', 'meridian_cache_responses_total', 'Tile cache responses by outcome.', ['cache', 'outcome'],
    () => caches().flatMap(([cache, c]) => (['hit', 'miss', 'bypass'] as const).map((o): Sample => [{ cache, outcome: o }, c[o].responses])));
  define('counter', 'meridian_cache_bytes_total', 'Tile cache bytes answered by outcome.', ['cache', 'outcome'],
    () => caches().flatMap(([cache, c]) => (['hit', 'miss', 'bypass'] as const).map((o): Sample => [{ cache, outcome: o }, c[o].bytes])));
  define('gauge', 'meridian_cache_size_bytes', 'Bytes held by the tile cache.', ['cache'], () => caches().map(([cache, c]) => [{ cache }, c.size]));
  define('gauge', 'meridian_cache_max_size_bytes', 'Bound of the tile cache in bytes.', ['cache'], () => caches().map(([cache, c]) => [{ cache }, c.max_size]));
  define('gauge', 'meridian_pool_workers', 'Worker threads in the tile pool.', [], () => [[{}, monitor.poolWorkers().length]]);
  define('counter', 'meridian_pool_respawned_total', 'Pool workers replaced.', [], () => [[{}, monitor.respawned()]]);
  define('counter', 'meridian_pool_abandoned_total', 'Pool tasks whose askers had gone: dropped while queued, stopped while running.', ['when'], () => {
    const { queued, running } = monitor.poolAbandoned();
    return [[{ when: 'queued' }, queued], [{ when: 'running' }, running]];
  });

  const tileSeconds = new LatencyHistogram('meridian_tile_duration_seconds', 'Time from a tile request to its whole response written.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], http.table.filter((rule) => rule.tile).map((rule) => rule.zone));
  return {
    registry,
    observeTile: (zone, seconds) => tileSeconds.observe(zone, seconds),
    exposition: async () => `${(await registry.metrics()).trimEnd()}\n\n${tileSeconds.exposition()}`,
  };
}
