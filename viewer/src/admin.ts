// For administrators: the QGIS project cache (GET /cache/) and the worker pool (GET /pool/), on demand.
import { fetchJson, type ServerFeatures } from './api.js';
import { byId, h } from './dom.js';

interface CacheList { cached: { name: string; last_modified: string | number }[] }
interface Pool { num_workers: number; workers: { pid: number; mem_usage?: number; mem_percent?: number }[] }

async function section(title: string, load: () => Promise<HTMLElement>): Promise<HTMLElement> {
  try {
    return h('div', {}, h('h3', {}, title), await load());
  } catch (e) {
    return h('div', {}, h('h3', {}, title), h('p', { className: 'error' }, (e as Error).message));
  }
}

const list = (items: string[]) => (items.length ? h('ul', {}, ...items.map((i) => h('li', {}, i))) : h('p', {}, 'none'));

export function setUpAdmin(features: ServerFeatures): void {
  if (!features.cache && !features.pool) return;
  byId('admin').hidden = false;
  byId('admin-refresh').addEventListener('click', async () => {
    const parts: Promise<HTMLElement>[] = [];
    if (features.cache) {
      parts.push(section('Project cache', async () =>
        list((await fetchJson<CacheList>('cache/')).cached.map((c) => `${c.name} (modified ${c.last_modified})`))));
    }
    if (features.pool) {
      parts.push(section('Worker pool', async () => {
        const pool = await fetchJson<Pool>('pool/');
        return list(pool.workers.map((w) => `pid ${w.pid}` + (w.mem_usage === undefined ? '' : `, ${(w.mem_usage / 2 ** 20).toFixed(0)} MiB`)));
      }));
    }
    byId('admin-content').replaceChildren(...await Promise.all(parts));
  });
}
