// What identify searches for a resource: a feature layer is one source; a QGIS project is its
// identifiable vector layers (read with the project's layer store), reported together under the
// project's id, each feature naming the QGIS layer it comes from.
import type { ResourceEntry } from '../catalog/types.js';
import { featureLayerOf } from '../http/resources.js';
import { projectOf, projectVectorLayers } from '../qgis/project-resource.js';
import type { Services } from '../services.js';
import type { FeatureLayer } from '../store/types.js';
import type { LayerRef } from '../tiling/layers.js';

export interface IdentifySource {
  layer: FeatureLayer;
  /** Whose data a worker holds for big searches: the layer's id, or a QGIS project layer's ref. */
  ref: LayerRef;
  /** The field whose value labels a feature. */
  labelField?: string;
  /** For a project's layers: the QGIS layer (its id and its name as MVT names it). */
  qgisLayer?: { id: string; name: string };
}

export async function identifySources(services: Services, entry: ResourceEntry): Promise<IdentifySource[]> {
  if (!services.catalog.classOf(entry).qgisProject) {
    return [{ layer: await featureLayerOf(services, entry), ref: entry.id, labelField: entry.label_field }];
  }
  const layers = await projectVectorLayers(services.log, await projectOf(services, entry), 'identify');
  return layers.map((l) => ({ layer: l.layer, ref: l.ref, labelField: l.info.displayField, qgisLayer: { id: l.info.id, name: l.name } }));
}
