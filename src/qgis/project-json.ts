// The qgis_project block of /api/resource/{id}: the project and its layers as Meridian uses them.
import type { ResourceEntry } from '../catalog/types.js';
import { ApiError } from '../http/errors.js';
import type { Services } from '../services.js';
import { crsLabel, type ProjectLayer } from './project.js';
import { layerName, openProjectLayers, projectOf, servable, type UnusableLayer } from './project-resource.js';

function whyUnusable(layer: ProjectLayer, failed: UnusableLayer | undefined): string {
  if (!layer.valid) return layer.error ?? 'bad layer';
  if (layer.type !== 'vector') return `a ${layer.type} layer (only vector layers are served)`;
  if (!layer.spatial) return 'has no geometry';
  return failed?.error.message ?? 'its datasource cannot be read by Meridian';
}

export async function projectJson(services: Services, entry: ResourceEntry): Promise<Record<string, unknown>> {
  let cached;
  try {
    cached = await projectOf(services, entry);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { project: entry.project, status: 'error', error: e.message };
  }
  // Every servable layer, opened or not (a database that cannot be reached now is one layer's error here, not the resource's).
  const opened = new Map((await openProjectLayers(services.log, cached, cached.project.layers.filter(servable))).map((l) => [l.info.id, l]));
  const byId = new Map(cached.project.layers.map((l) => [l.id, l]));
  return {
    project: entry.project,
    status: 'ready',
    title: cached.project.title,
    crs: crsLabel(cached.project.crs),
    // Bottom first, as they are drawn and as MVT tiles list them.
    layers: cached.project.drawingOrder.map((id) => {
      const l = byId.get(id)!;
      const result = opened.get(id);
      const [used, failed] = result && 'error' in result ? [undefined, result] : [result, undefined];
      return {
        id: l.id, name: l.name, layer_name: layerName(cached, l), type: l.type, provider: l.provider,
        valid: l.valid, visible: l.visible, identifiable: l.identifiable,
        usable: used !== undefined,
        ...(used ? { geometry_type: used.layer.schema.geometryType } : { error: whyUnusable(l, failed) }),
      };
    }),
  };
}
