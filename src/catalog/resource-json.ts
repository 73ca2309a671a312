// A resource as NextGIS Web's /api/resource/{id} presents it.
import type { Services } from '../services.js';
import { postgisSource } from './postgis-entry.js';
import type { ResourceEntry } from './types.js';

export interface ResourceJson {
  resource: Record<string, unknown>;
  [block: string]: unknown;
}

/** `visible` says which children the caller may see (the `children` flag counts only those). */
export function resourceJson(services: Services, entry: ResourceEntry, visible: (child: ResourceEntry) => boolean = () => true): ResourceJson {
  const { catalog } = services;
  const cls = catalog.classOf(entry);
  const json: ResourceJson = {
    resource: {
      id: entry.id,
      cls: entry.cls,
      parent: entry.parent === null ? null : { id: entry.parent },
      owner_user: { id: services.auth.policy.system.administrator }, // catalog.json's resources are the administrator's
      permissions: services.auth.policy.aclOf(entry.id),
      keyname: entry.keyname ?? null,
      display_name: entry.display_name,
      description: entry.description ?? null,
      children: catalog.childrenOf(entry.id).some(visible),
      interfaces: cls.interfaces,
      scopes: cls.scopes,
    },
    resmeta: { items: {} },
  };
  if (cls.featureLayer) {
    const state = catalog.layerState(entry.id);
    const layer = state?.status === 'ready' ? state.layer : null;
    json[entry.cls] = {
      srs: { id: 3857 },
      geometry_type: layer?.schema.geometryType ?? null,
      status: state?.status ?? 'error',
      ...(state?.status === 'error' ? { error: state.error } : {}),
      ...(cls.storage === 'postgis' ? postgisJson(entry) : {}),
    };
    json.feature_layer = {
      fields: (layer?.schema.fields ?? []).map((f, i) => ({
        id: i + 1,
        keyname: f.keyname,
        datatype: f.datatype,
        typemod: null,
        display_name: f.keyname,
        label_field: f.keyname === entry.label_field,
        grid_visibility: true,
        lookup_table: null,
      })),
    };
  }
  if (cls.style) json[entry.cls] = { file_name: entry.qml };
  return json;
}

/** NGW's postgis_layer keys; the connection by name only (its URL holds credentials). */
function postgisJson(entry: ResourceEntry): Record<string, unknown> {
  const s = postgisSource(entry);
  return { connection: { keyname: s.connection }, schema: s.schema, table: s.table, column_id: s.columnId, column_geom: s.columnGeom, fields: 'update' };
}
