// Keeps the tile caches in step with the QGIS projects behind qgis_project resources: tiles are
// cached under the resource's id, and a project version loaded from other files than the last one
// (the project file or a layer's data file changed: other sizes or modification times), or with other
// layers valid (a database back after an outage), drops them.
// At a project's first load in this process, stored tiles made from the same files stay.
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { CachedProject, ProjectCache } from '../qgis/project-cache.js';
import { projectKeyOf } from '../qgis/project-resource.js';
import { sourceStamp } from '../store/source-files.js';
import type { TileCache } from './cache.js';
import type { TileStore } from './store.js';

function projectStamp(entry: CachedProject): string {
  const { project } = entry;
  // The data files' stamps as the project cache took them when it read this version.
  const files = [sourceStamp(project.filename), ...project.layers.map((l) => (l.source.path && entry.dataStamps.get(l.source.path)) ?? 'missing')].join('|');
  return `${files}|valid:${project.layers.map((l) => (l.valid ? 1 : 0)).join('')}`;
}

export function watchProjectSources(catalog: Catalog, projects: ProjectCache, cache: TileCache, store: TileStore, log: Logger): void {
  /** Resource id → stamp of the project version its tiles were made from, in this process. */
  const stamps = new Map<number, string>();
  projects.onChange((key) => {
    const current = projects.peek(key);
    // An eviction leaves the tiles: they are right until a load brings a version that may differ.
    if (!current) return;
    const stamp = projectStamp(current);
    for (const entry of catalog.resources.values()) {
      if (!catalog.classOf(entry).qgisProject || projectKeyOf(projects, entry) !== key) continue;
      const previous = stamps.get(entry.id);
      stamps.set(entry.id, stamp);
      // A version from the same files (a load after an eviction, a PUT of an unchanged project) makes the same tiles.
      if (previous === stamp) continue;
      if (previous !== undefined) cache.invalidateLayer(entry.id);
      store.layerChanged(entry.id, stamp, previous === undefined)
        .catch((e) => log.error({ resource: entry.id, error: (e as Error).message }, 'tile store invalidation failed'));
    }
  });
}
