// Which identify searches go to the worker pool, and how: big ones (many candidates, or a shape
// with many vertices), so the main thread stays free for other requests; small ones (a click)
// stay on the main thread, where they take less time than the trip to a worker.
import { taskModule, type WorkerPool } from '../pool/pool.js';
import type { MemoryLayer } from '../store/memory-layer.js';
import type { LayerRef } from '../tiling/layers.js';
import { toTransfer } from '../store/packed.js';
import type { RowSearch } from './search.js';
import { positionsOf, type Shape } from './shape.js';
import type { SearchRequest } from './search-task.js';

export const SEARCH_TASK = 'identify.search';
/** Above either of these a search is worth a worker. */
export const OFFLOAD_CANDIDATES = 20_000;
export const OFFLOAD_VERTICES = 2_000;
/** A continent over millions of features may take longer than a tile's timeout. */
const SEARCH_TIMEOUT_MS = 120_000;

/** The pool key of a layer's geometry for big searches. */
export const searchLayerKey = (ref: LayerRef) => `identify:${ref}`;

/** Per layer (id or project layer ref), the search that sends big jobs to the pool (layer data keyed by it, versioned by layer object). */
export function poolSearch(pool: WorkerPool): (ref: LayerRef) => RowSearch {
  pool.register(SEARCH_TASK, taskModule('./search-task.js', import.meta.url));
  const versions = new WeakMap<MemoryLayer, number>();
  let nextVersion = 1;
  return (ref) => (layer, area, rows, limit, signal) => {
    const candidates = rows ? rows.length : layer.fids.length;
    if (candidates < OFFLOAD_CANDIDATES && positionsOf(area.shape as Shape).length < OFFLOAD_VERTICES) return null;
    let version = versions.get(layer);
    if (version === undefined) versions.set(layer, (version = nextVersion++));
    const key = searchLayerKey(ref);
    const request: SearchRequest = { key, shape: area.shape, rows, limit };
    return pool.run<Uint32Array>(SEARCH_TASK, request, {
      layers: [{ key, version, data: () => toTransfer(layer.geometry) }],
      transfer: rows ? [rows.buffer as ArrayBuffer] : [],
      timeoutMs: SEARCH_TIMEOUT_MS,
      signal,
      heavy: true,
    });
  };
}
