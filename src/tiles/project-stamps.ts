// Keeps the tile caches in step with the QGIS projects behind qgis_project resources: tiles are
// cached under the resource's id, so a project that is reloaded (its file changed, PUT /cache, or a
// load after an eviction) drops them. At a project's first load in this process, stored tiles made
// from the same project file and layer files (same sizes and modification times) stay.
import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { CachedProject, ProjectCache } from '../qgis/project-cache.js';
import { projectKeyOf } from '../qgis/project-resource.js';
import type { TileCache } from './cache.js';
import type { TileStore } from './store.js';

function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function projectStamp(entry: CachedProject): string {
  const { project } = entry;
  return [project.filename, ...project.layers.map((l) => l.source.path ?? l.datasource)].map(fileStamp).join('|');
}

export function watchProjectSources(catalog: Catalog, projects: ProjectCache, cache: TileCache, store: TileStore, log: Logger): void {
  const loaded = new Set<number>();
  projects.onChange((key) => {
    const current = projects.peek(key);
    // An eviction leaves the tiles: they are right until a load brings a version that may differ.
    if (!current) return;
    for (const entry of catalog.resources.values()) {
      if (!catalog.classOf(entry).qgisProject || projectKeyOf(projects, entry) !== key) continue;
      const firstLoad = !loaded.has(entry.id);
      loaded.add(entry.id);
      if (!firstLoad) cache.invalidateLayer(entry.id);
      store.layerChanged(entry.id, projectStamp(current), firstLoad)
        .catch((e) => log.error({ resource: entry.id, error: (e as Error).message }, 'tile store invalidation failed'));
    }
  });
}
