// GeoJSON FeatureCollection (RFC 7946, and the older "crs" member that GDAL still writes).
import { readFile } from 'node:fs/promises';
import type { Feature, FeatureCollection, Geometry } from 'geojson';
import { SourceError, type SourceReader } from '../source.js';

export async function openGeoJson(path: string): Promise<SourceReader> {
  let doc: FeatureCollection | Feature | Geometry;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new SourceError(`not valid JSON: ${(e as Error).message}`);
  }
  const features: Feature[] =
    doc.type === 'FeatureCollection' ? doc.features
      : doc.type === 'Feature' ? [doc]
        : doc.type ? [{ type: 'Feature', geometry: doc as Geometry, properties: {} }] : [];
  if (!Array.isArray(features) || (doc.type !== 'FeatureCollection' && doc.type !== 'Feature' && !features.length)) {
    throw new SourceError('not a GeoJSON FeatureCollection');
  }
  const crs = (doc as { crs?: { properties?: { name?: string } } }).crs?.properties?.name ?? null;
  return {
    crs,
    features: (async function* () {
      for (const f of features) yield { id: f.id, geometry: f.geometry ?? null, properties: f.properties };
    })(),
  };
}
