// Finding the resource a request names, and the feature layer behind it.
import type { ResourceEntry } from '../catalog/types.js';
import type { Services } from '../services.js';
import type { FeatureLayer } from '../store/types.js';
import { ApiError, badParameter, resourceNotFound } from './errors.js';

export function resourceById(services: Services, idText: string | undefined, name = 'id'): ResourceEntry {
  if (!idText || !/^\d+$/.test(idText)) throw badParameter(name, 'must be a resource id (a non-negative integer)');
  const entry = services.catalog.get(Number(idText));
  if (!entry) throw resourceNotFound(idText);
  return entry;
}

/** The layer's data, waiting for it if it is still loading; 422 if the resource has no features. */
export async function featureLayerOf(services: Services, entry: ResourceEntry): Promise<FeatureLayer> {
  if (!services.catalog.classOf(entry).featureLayer) {
    throw new ApiError(422, 'NOT_A_FEATURE_LAYER', `Resource ${entry.id} is a ${entry.cls}, not a feature layer.`);
  }
  let state = services.catalog.layerState(entry.id);
  if (state?.status === 'loading') {
    await state.ready;
    state = services.catalog.layerState(entry.id);
  }
  if (state?.status !== 'ready') {
    throw new ApiError(503, 'LAYER_UNAVAILABLE', `Layer ${entry.id} is unavailable: ${state?.status === 'error' ? state.error : 'not loaded'}.`);
  }
  return state.layer;
}
