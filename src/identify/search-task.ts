// Worker task "identify.search": the rows of one layer that meet a shape, from the candidate rows
// the main thread found in the layer's index. The layer's packed geometry is shipped once per
// worker (its SharedArrayBuffers are shared, not copied), the shape as typed arrays; the answer's
// buffer is moved back.
import type { Geometry } from 'geojson';
import type { TaskHandler } from '../pool/pool.js';
import { fromTransfer, type PackedTransfer } from '../store/packed.js';
import { PreparedArea } from './area.js';
import { isPackedShape, unpackShape, type PackedShape } from './packed-shape.js';
import { matchRows } from './search.js';

export interface SearchRequest {
  /** Pool layer key of the packed geometry. */
  key: string;
  /** EPSG:4326; packed when it is an identify shape (see offload.ts). */
  shape: PackedShape | Geometry;
  /** Candidate rows, ascending; null for every row. */
  rows: Uint32Array | null;
  limit: number;
}

const searchTask: TaskHandler<SearchRequest, Uint32Array> = async (request, ctx) => {
  const geometry = fromTransfer(ctx.layer<PackedTransfer>(request.key));
  const hits = Uint32Array.from(await matchRows(geometry, request.rows, { area: new PreparedArea(isPackedShape(request.shape) ? unpackShape(request.shape) : request.shape) }, request.limit, () => ctx.throwIfAbandoned()));
  ctx.transfer(hits.buffer as ArrayBuffer);
  return hits;
};
export default searchTask;
