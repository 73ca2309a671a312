// Finding the features of one layer that meet a prepared area, lowest fids first, up to a limit.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MemoryLayer } from '../store/memory-layer.js';
import type { Feature, FeatureLayer, FeatureQuery } from '../store/types.js';
import type { PreparedArea } from './area.js';

/** Longest stretch of work before other requests get a turn of the event loop. */
const SLICE_MS = 15;

export interface LayerHits {
  features: Feature[];
  /** True when more features matched than `limit`. */
  cut: boolean;
}

/** Rows of an in-memory layer that meet the area, in slices so a continent-sized query does not stall the server. */
async function memoryRows(layer: MemoryLayer, query: FeatureQuery, limit: number): Promise<number[]> {
  const rows = layer.candidateRows(query);
  const total = rows ? rows.length : await layer.count();
  const hits: number[] = [];
  let sliceStart = performance.now();
  for (let k = 0; k < total && hits.length <= limit; k++) {
    const row = rows ? rows[k] : k;
    if (layer.rowMatches(row, query)) hits.push(row);
    if ((k & 1023) === 1023 && performance.now() - sliceStart > SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  return hits;
}

/** At most `limit` features meeting the area (Infinity for all), and whether more existed. */
export async function identifyLayer(layer: FeatureLayer, area: PreparedArea, limit: number): Promise<LayerHits> {
  const query: FeatureQuery = { area };
  let features: Feature[];
  if (layer instanceof MemoryLayer) {
    features = (await memoryRows(layer, query, limit)).map((row) => layer.featureAt(row));
  } else {
    features = [];
    for await (const f of layer.features({ ...query, limit: limit + 1 })) features.push(f);
  }
  const cut = features.length > limit;
  if (cut) features.length = limit;
  return { features, cut };
}

/** How many features meet the area (for benchmarks: no feature objects are built). */
export async function countMatches(layer: MemoryLayer, area: PreparedArea): Promise<number> {
  return (await memoryRows(layer, { area }, Infinity)).length;
}
