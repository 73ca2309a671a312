// Identify results as NextGIS Web writes them: per layer id {"featureCount", "features": [{"id",
// "layerId", "label", "fields", "parent"?}]}, plus the total "featureCount".
import type { ResourceEntry } from '../catalog/types.js';
import { jsonValue } from '../http/features.js';
import type { Feature } from '../store/types.js';
import type { LayerHits } from './search.js';
import type { IdentifySource } from './sources.js';

export interface IdentifiedFeature {
  id: number;
  layerId: number;
  label: string;
  fields: Record<string, unknown>;
  /** The layer's parent group, when the caller may read it (as NGW does). */
  parent?: string;
  /** Meridian's addition for a QGIS project: the project layer the feature belongs to. */
  qgisLayer?: { id: string; name: string };
}

export interface LayerFeatures {
  featureCount: number;
  features: IdentifiedFeature[];
  /** Meridian's addition: more features matched than the request's limit. */
  cut: boolean;
}

export type LayerResult = LayerFeatures | { error: 'Forbidden' };

/** NGW's feature label: the label field's value as text, or "#fid" when there is none. */
export function featureLabel(f: Feature, labelField: string | undefined): string {
  const value = labelField === undefined ? null : f.fields[labelField] ?? null;
  return value === null ? `#${f.fid}` : String(value);
}

export function layerResult(entry: ResourceEntry, source: IdentifySource, hits: LayerHits, parent: string | undefined): LayerFeatures {
  const { schema } = source.layer;
  const labelField = schema.fields.some((d) => d.keyname === source.labelField) ? source.labelField : undefined;
  const features = hits.features.map((f) => {
    const fields: Record<string, unknown> = {};
    for (const d of schema.fields) fields[d.keyname] = jsonValue(f.fields[d.keyname], d.datatype, 'iso');
    const out: IdentifiedFeature = { id: f.fid, layerId: entry.id, label: featureLabel(f, labelField), fields };
    if (parent !== undefined) out.parent = parent;
    if (source.qgisLayer) out.qgisLayer = source.qgisLayer;
    return out;
  });
  return { featureCount: features.length, features, cut: hits.cut };
}

/** One resource's result from the results of its sources (one for a layer; a project's layers, in drawing order). */
export function mergedResult(parts: LayerFeatures[]): LayerFeatures {
  const features = parts.flatMap((p) => p.features);
  return { featureCount: features.length, features, cut: parts.some((p) => p.cut) };
}
