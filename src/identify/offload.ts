// Which identify work goes to the worker pool, and how: reading a long shape, and big searches
// (many candidates, or a shape with many vertices), so the main thread stays free for other
// requests; a short shape and a small search (a click) stay on the main thread, where they take
// less time than the trip to a worker.
import type { Geometry } from 'geojson';
import { vertexCount } from '../common/coordinates.js';
import { taskModule, type WorkerPool } from '../pool/pool.js';
import type { MemoryLayer } from '../store/memory-layer.js';
import type { LayerRef } from '../tiling/layers.js';
import { toTransfer } from '../store/packed.js';
import { PreparedArea } from './area.js';
import { packShape, unpackShape, type PackedShape } from './packed-shape.js';
import { shapeOf, type ShapeRequest } from './request.js';
import type { RowSearch } from './search.js';
import { isShape } from './shape.js';
import type { SearchRequest } from './search-task.js';

const SHAPE_TASK = 'identify.shape';
/** WKT longer than this (some 5,000 vertices: ~15 ms to read and check) is read in a worker. */
const OFFLOAD_WKT_CHARS = 100_000;

/** The shapes of searches sent to workers, packed once for every layer searched. */
const packedShapes = new WeakMap<PreparedArea, PackedShape>();

/** The identify shape as an area: read here when short, in a worker when long (`signal`: its client has gone). */
export function poolShapes(pool: WorkerPool): (shape: ShapeRequest, signal?: AbortSignal) => Promise<PreparedArea> {
  pool.register(SHAPE_TASK, taskModule('./shape-task.js', import.meta.url));
  return async (shape, signal) => {
    if (shape.wkt.length <= OFFLOAD_WKT_CHARS) return new PreparedArea(shapeOf(shape));
    const packed = await pool.run<PackedShape>(SHAPE_TASK, shape, { signal, heavy: true });
    const area = new PreparedArea(unpackShape(packed));
    packedShapes.set(area, packed);
    return area;
  };
}

/** The area's shape for a worker: packed when it is an identify shape (intersects= may send any geometry). */
function shapeForWorker(area: PreparedArea): PackedShape | Geometry {
  let packed = packedShapes.get(area);
  if (!packed && isShape(area.shape)) packedShapes.set(area, (packed = packShape(area.shape)));
  return packed ?? area.shape;
}

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
    if (candidates < OFFLOAD_CANDIDATES && vertexCount(area.shape) < OFFLOAD_VERTICES) return null;
    let version = versions.get(layer);
    if (version === undefined) versions.set(layer, (version = nextVersion++));
    const key = searchLayerKey(ref);
    const request: SearchRequest = { key, shape: shapeForWorker(area), rows, limit };
    return pool.run<Uint32Array>(SEARCH_TASK, request, {
      layers: [{ key, version, data: () => toTransfer(layer.geometry) }],
      transfer: rows ? [rows.buffer as ArrayBuffer] : [],
      timeoutMs: SEARCH_TIMEOUT_MS,
      signal,
      heavy: true,
    });
  };
}
