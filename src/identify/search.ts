// Finding the features of one layer that meet a shape, lowest fids first, up to a limit: on the
// main thread in slices for small searches, in a pool worker for big ones (see search-task.ts).
import { timeSlices } from '../common/time-slices.js';
import { MemoryLayer, rowMatches } from '../store/memory-layer.js';
import type { PackedGeometry } from '../store/packed.js';
import type { Feature, FeatureLayer, FeatureQuery } from '../store/types.js';
import type { PreparedArea } from './area.js';

export interface LayerHits {
  features: Feature[];
  /** True when more features matched than `limit`. */
  cut: boolean;
}

/**
 * Candidate rows (all rows when null) that pass the query, at most limit + 1 of them, in slices
 * so that a continent-sized search does not stall the thread it runs on. In a worker,
 * `throwIfAbandoned` (see TaskContext) stops it once whoever asked has gone.
 */
export async function matchRows(g: PackedGeometry, rows: ArrayLike<number> | null, query: FeatureQuery, limit: number, throwIfAbandoned?: () => void): Promise<number[]> {
  const total = rows ? rows.length : g.count;
  const hits: number[] = [];
  const pause = timeSlices();
  for (let k = 0; k < total && hits.length <= limit; k++) {
    const row = rows ? rows[k] : k;
    if (rowMatches(g, row, query)) hits.push(row);
    if ((k & 1023) !== 1023) continue;
    throwIfAbandoned?.();
    await pause();
  }
  return hits;
}

/** Finds the matching rows of an in-memory layer elsewhere (a worker), given its candidate rows; dropped or stopped once `signal` aborts. */
export type RowSearch = (layer: MemoryLayer, area: PreparedArea, rows: Uint32Array | null, limit: number, signal?: AbortSignal) => Promise<ArrayLike<number>> | null;

/**
 * At most `limit` features meeting the area (Infinity for all), and whether more existed.
 * `elsewhere` may take the search off this thread; when it declines (null), it runs here.
 * `signal` (the client gone) stops a database layer's query (see FeatureQuery.signal) or a search in a worker.
 */
export async function identifyLayer(layer: FeatureLayer, area: PreparedArea, limit: number, elsewhere?: RowSearch, signal?: AbortSignal): Promise<LayerHits> {
  let features: Feature[];
  if (layer instanceof MemoryLayer) {
    const rows = layer.candidateRows({ area });
    const found = elsewhere?.(layer, area, rows, limit, signal) ?? matchRows(layer.geometry, rows, { area }, limit);
    features = Array.from(await found, (row) => layer.featureAt(row, false));
  } else {
    features = [];
    // Identify answers fields, never geometry (as NGW does).
    for await (const f of layer.features({ area, limit: limit + 1, signal, geometry: false })) features.push(f);
  }
  const cut = features.length > limit;
  if (cut) features.length = limit;
  return { features, cut };
}
