// A qgis_project resource of the catalog: the project its entry names under the projects root, and
// that project's vector layers which Meridian's layer store reads, for tiles, renders and identify.
// A layer that cannot be used (bad, not vector, unreadable) is left out, never failing the project.
import type { Logger } from 'pino';
import type { ResourceEntry } from '../catalog/types.js';
import { ApiError, badParameter } from '../http/errors.js';
import type { Services } from '../services.js';
import type { FeatureLayer } from '../store/types.js';
import type { ProjectLayer } from './project.js';
import type { CachedProject, ProjectCache } from './project-cache.js';

export interface ProjectVectorLayer {
  info: ProjectLayer;
  /** Its MVT layer name, and what `layers=` selects (see `layerName`). */
  name: string;
  layer: FeatureLayer;
  /** Names its data for the worker pool, across projects: the project's cache key and the layer id. */
  ref: string;
}

/** What a request uses a project's layers for: each picks its layers differently by default. */
export type LayerUse =
  /** MVT: every vector layer. */
  | 'tiles'
  /** Render: the layers the project's map shows (checked in its layer tree). */
  | 'render'
  /** Identify: the layers QGIS lets identify (the "Identifiable" flag). */
  | 'identify';

export const projectLayerRef = (project: CachedProject, layer: ProjectLayer) => `qgis:${project.key}#${layer.id}`;

/** Tells `forget` the pool refs of a project version's layers when it is replaced or evicted (workers free their data). */
export function forgetReplacedLayers(projects: ProjectCache, forget: (ref: string) => void): void {
  projects.onChange((_, previous) => previous?.project.layers.forEach((l) => forget(projectLayerRef(previous, l))));
}

/** The QGIS layer name, or the layer id when another layer of the project has the same name. */
export function layerName(project: CachedProject, layer: ProjectLayer): string {
  return project.project.layers.filter((l) => l.name === layer.name).length > 1 ? layer.id : layer.name;
}

/** The project's cache key for a qgis_project entry, or undefined when its URI finds no project. */
export function projectKeyOf(projects: ProjectCache, entry: ResourceEntry): string | undefined {
  try { return projects.resolve(entry.project as string).key; } catch { return undefined; }
}

/** The project behind a qgis_project entry (loaded, or reloaded if its file changed); 503 when it cannot be. */
export async function projectOf(services: Services, entry: ResourceEntry): Promise<CachedProject> {
  try {
    return await services.projects.get(entry.project as string);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
    // Whatever the cache says (missing, outside the root, unreadable), it is the server's setup, not the request.
    throw new ApiError(503, 'PROJECT_UNAVAILABLE', `The QGIS project of resource ${entry.id} is unavailable: ${e.message}`);
  }
}

/**
 * The `layers=` parameter: layer names or ids, over every qgis_project a request names. A name
 * that matches no layer of any of them is a 400; one naming a bad layer selects nothing.
 */
export class LayerSelection {
  private readonly matched = new Set<string>();
  private projects = 0;

  private constructor(readonly names: string[]) {}

  static parse(text: string | undefined): LayerSelection | undefined {
    if (text === undefined) return undefined;
    const names = text.split(',').map((s) => s.trim());
    if (names.some((n) => !n)) throw badParameter('layers', 'must be layer names or ids of the project, separated by commas');
    return new LayerSelection(names);
  }

  /** Notes every name the project's layers answer to, and whether `layer` is selected. */
  private picks(project: CachedProject, layer: ProjectLayer): boolean {
    let picked = false;
    for (const key of [layerName(project, layer), layer.id]) {
      if (this.names.includes(key)) { this.matched.add(key); picked = true; }
    }
    return picked;
  }

  /** The layers of `project` it selects, having noted the names they answer to. */
  pick(project: CachedProject): ProjectLayer[] {
    this.projects++;
    return project.project.layers.filter((l) => this.picks(project, l));
  }

  /** After every resource was looked through: 400 when no project was, or for names that matched nothing. */
  checkAllMatched(): void {
    if (this.projects === 0) throw badParameter('layers', 'applies to qgis_project resources only');
    const unknown = this.names.filter((n) => !this.matched.has(n));
    if (unknown.length) throw badParameter('layers', `names no layer of the requested project(s): ${unknown.join(', ')}`);
  }
}

/** Layers already logged as unusable, per project version (their objects are per version). */
const reported = new WeakSet<ProjectLayer>();

/** A layer of the project that cannot be served now, and why. */
export interface UnusableLayer {
  info: ProjectLayer;
  error: ApiError;
}

/**
 * Each of `layers` (valid spatial vector layers) read, or why it cannot be; a layer the store cannot
 * read is logged once per project version.
 */
export function openProjectLayers(log: Logger, project: CachedProject, layers: ProjectLayer[]): Promise<(ProjectVectorLayer | UnusableLayer)[]> {
  return Promise.all(layers.map(async (info) => {
    try {
      return { info, name: layerName(project, info), layer: await project.featureLayer(info.id), ref: projectLayerRef(project, info) };
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      // An unreachable database (503) is the request's error, logged with it; it may answer the next one.
      if (e.status < 500 && !reported.has(info)) {
        log.warn({ project: project.key, layer: info.name, error: e.message }, 'project layer left out');
        reported.add(info);
      }
      return { info, error: e };
    }
  }));
}

/** Whether a layer is a vector layer with geometries that opened when the project loaded: one Meridian may serve. */
export const servable = (l: ProjectLayer) => l.type === 'vector' && l.valid && l.spatial;

/**
 * The project's usable vector layers for `use`, in QGIS's drawing order (bottom first), each read
 * once per project version. `select` replaces the default choice of layers. A layer the store
 * cannot read is left out, as a bad layer is; a layer whose database cannot be reached makes the
 * answer a 503 instead: leaving it out would cache a tile without it.
 */
export async function projectVectorLayers(log: Logger, project: CachedProject, use: LayerUse, select?: LayerSelection): Promise<ProjectVectorLayer[]> {
  const byId = new Map(project.project.layers.map((l) => [l.id, l]));
  const picked = select ? new Set(select.pick(project)) : undefined;
  const chosen = project.project.drawingOrder.map((id) => byId.get(id)!)
    .filter((l) => (picked ? picked.has(l) : use === 'tiles' || (use === 'render' ? l.visible : l.identifiable)));
  const opened = await openProjectLayers(log, project, chosen.filter(servable));
  const unavailable = opened.find((l): l is UnusableLayer => 'error' in l && l.error.status === 503);
  if (unavailable) throw unavailable.error;
  return opened.filter((l): l is ProjectVectorLayer => !('error' in l));
}
