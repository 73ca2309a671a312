// A cached project as py-qgis-server's cache API describes it (GET /cache/{uri}, GET /pool/).
import { crsLabel } from './project.js';
import type { CachedProject } from './project-cache.js';

/** py-qgis-server prints times with Python's isoformat(): seconds precision and an offset. */
export function isoTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, '+00:00');
}

export function projectSummary(entry: CachedProject) {
  const { project } = entry;
  return {
    cache_key: entry.key,
    filename: project.filename,
    title: project.title,
    bad_layers_count: project.layers.filter((l) => !l.valid).length,
    crs: crsLabel(project.crs),
    last_modified: isoTime(project.lastModified),
    layers: project.layers.map((l) => ({
      id: l.id, name: l.name, source: l.datasource, crs: crsLabel(l.crs), valid: l.valid, spatial: l.spatial,
    })),
  };
}

export type ProjectSummary = ReturnType<typeof projectSummary>;

/** One entry of a worker's cache in GET /pool/ (the link is added where the request's host is known). */
export function poolCacheEntry(entry: CachedProject) {
  return {
    key: entry.key,
    filename: entry.project.filename,
    last_modified: isoTime(entry.project.lastModified),
    num_layers: entry.project.layers.length,
    static: entry.pinned,
  };
}
