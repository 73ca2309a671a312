// The Glances-style plugins: /monitor/1/{plugin} answers, each built when asked.
import { threadId } from 'node:worker_threads';
import type { Catalog } from '../catalog/catalog.js';
import type { Monitor } from './monitor.js';

type Stats = Record<string, unknown> | Record<string, unknown>[];
type Plugin = () => Stats | Promise<Stats>;

function processlist(monitor: Monitor): Record<string, unknown>[] {
  const cpu = process.cpuUsage();
  const main = {
    pid: process.pid, thread_id: threadId, role: 'main', worker_id: null, memory: process.memoryUsage.rss(),
    cpu_user: cpu.user / 1e6, cpu_system: cpu.system / 1e6, busy: null,
  };
  const workers = monitor.poolWorkers().map((w) => ({
    pid: w.pid, thread_id: w.threadId ?? null, role: 'worker', worker_id: w.id, memory: w.memory ?? null,
    cpu_user: null, cpu_system: null, busy: w.busy ?? null,
  }));
  return [main, ...workers];
}

async function layers(catalog: Catalog): Promise<Record<string, unknown>[]> {
  const out = [];
  for (const entry of catalog.resources.values()) {
    const state = catalog.layerState(entry.id);
    if (!state) continue;
    out.push({
      id: entry.id, display_name: entry.display_name, status: state.status,
      features: state.status === 'ready' ? await state.layer.count() : null,
      geometry_type: state.status === 'ready' ? state.layer.schema.geometryType : null,
      error: state.status === 'error' ? state.error : null,
    });
  }
  return out;
}

function tiles(monitor: Monitor): Record<string, unknown> {
  const cache = { hit: 0, miss: 0, bypass: 0, size: 0, max_size: 0 };
  for (const name of monitor.cacheNames()) {
    const c = monitor.cache(name)!;
    cache.hit += c.hit.responses; cache.miss += c.miss.responses; cache.bypass += c.bypass.responses;
    cache.size += c.size; cache.max_size += c.max_size;
  }
  const { count, seconds } = monitor.tileLatency;
  const zone = monitor.http.zones.get('tiles')!;
  return {
    requests: zone.requests, sent: zone.sent, timed: count, mean_ms: count ? (1000 * seconds) / count : null,
    cache_hit: cache.hit, cache_miss: cache.miss, cache_bypass: cache.bypass, cache_size: cache.size, cache_max_size: cache.max_size,
  };
}

export function createPlugins(monitor: Monitor, catalog: Catalog): Map<string, Plugin> {
  const sys = monitor.system;
  return new Map<string, Plugin>([
    ['cpu', () => sys.cpu()],
    ['mem', () => sys.mem()],
    ['load', () => sys.load()],
    ['uptime', () => sys.uptime()],
    ['now', () => sys.now()],
    ['processlist', () => processlist(monitor)],
    ['pool', () => ({ num_workers: monitor.poolWorkers().length, respawned: monitor.respawned(), abandoned: monitor.poolAbandoned(), workers: monitor.poolWorkers() })],
    ['layers', () => layers(catalog)],
    ['tiles', () => tiles(monitor)],
  ]);
}
