// Finding the resource a request names, checking the caller may use it, and the layer behind it.
// Every endpoint that touches a resource goes through `resourceFor`, so permissions apply everywhere.
import type { Context } from 'koa';
import type { Caller } from '../auth/caller.js';
import type { ResourceEntry } from '../catalog/types.js';
import type { Services } from '../services.js';
import type { FeatureLayer } from '../store/types.js';
import { ApiError, badParameter, resourceNotFound } from './errors.js';

/** NextGIS Web permissions, as scope.permission. */
export type Permission =
  | 'resource.read' | 'resource.create' | 'resource.update' | 'resource.delete'
  | 'resource.manage_children' | 'resource.change_permissions'
  | 'datastruct.read' | 'datastruct.write' | 'data.read' | 'data.write'
  | 'metadata.read' | 'metadata.write';

/** Decides whether `caller` holds `permission` on `entry`; throws 401/403 when not. */
export type Authorize = (caller: Caller, entry: ResourceEntry, permission: Permission) => void;

export function resourceById(services: Services, idText: string | undefined, name = 'id'): ResourceEntry {
  if (!idText || !/^\d+$/.test(idText)) throw badParameter(name, 'must be a resource id (a non-negative integer)');
  const entry = services.catalog.get(Number(idText));
  if (!entry) throw resourceNotFound(idText);
  return entry;
}

/** The resource named by `idText`, once the caller is known to hold `permission` on it. */
export function resourceFor(ctx: Context, services: Services, idText: string | undefined, permission: Permission, name = 'id'): ResourceEntry {
  const entry = resourceById(services, idText, name);
  // A scope the class lacks (data on a group) cannot be granted; only visibility matters then, and
  // the endpoint goes on to answer 422 for the wrong kind of resource.
  const scope = permission.slice(0, permission.indexOf('.'));
  services.authorize(ctx.state.user, entry, services.catalog.classOf(entry).scopes.includes(scope) ? permission : 'resource.read');
  return entry;
}

/** Whether the caller holds `permission` on `entry`, for endpoints that leave out what it may not see. */
export function mayAccess(ctx: Context, services: Services, entry: ResourceEntry, permission: Permission): boolean {
  return services.auth.policy.allows(ctx.state.user, entry, permission);
}

/** The layer's data, waiting for it if it is still loading; 422 if the resource has no features. */
export async function featureLayerOf(services: Pick<Services, 'catalog'>, entry: ResourceEntry): Promise<FeatureLayer> {
  if (!services.catalog.classOf(entry).featureLayer) {
    throw new ApiError(422, 'NOT_A_FEATURE_LAYER', `Resource ${entry.id} is a ${entry.cls}, not a feature layer.`);
  }
  let state = services.catalog.layerState(entry.id);
  if (state?.status === 'loading') {
    await state.ready;
    state = services.catalog.layerState(entry.id);
  }
  if (state?.status !== 'ready') {
    throw new ApiError(503, (state?.status === 'error' && state.code) || 'LAYER_UNAVAILABLE', `Layer ${entry.id} is unavailable: ${state?.status === 'error' ? state.error : 'not loaded'}.`);
  }
  return state.layer;
}
