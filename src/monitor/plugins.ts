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

/**
 * The memory cache (`cache_*`) and the disk store (`store_*`) apart: a tile missed in memory is
 * looked for on disk, so their sums would count it twice.
 */
function tiles(monitor: Monitor): Record<string, unknown> {
  const memory = monitor.cache('tiles'), disk = monitor.cache('tile-store');
  const { count, seconds } = monitor.tileLatency;
  const zone = monitor.http.zones.get('tiles')!;
  return {
    requests: zone.requests, sent: zone.sent, timed: count, mean_ms: count ? (1000 * seconds) / count : null,
    cache_hit: memory?.hit.responses ?? 0, cache_miss: memory?.miss.responses ?? 0, cache_bypass: memory?.bypass.responses ?? 0,
    cache_size: memory?.size ?? 0, cache_max_size: memory?.max_size ?? 0,
    store_hit: disk?.hit.responses ?? 0, store_miss: disk?.miss.responses ?? 0, store_size: disk?.size ?? 0, store_max_size: disk?.max_size ?? 0,
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
