// Worker task "mvt.tile": one tile with one MVT layer per requested layer, in order. Answers
// no body for a tile without features, else the bytes (shared or moved, see pool/shared-results.ts)
// and a strong ETag.
// `cutTile` is the same work for a caller that holds the layers' data itself.
import { PbfWriter as Pbf } from 'pbf';
import type { TaskHandler } from '../pool/pool.js';
import type { MvtLayerData } from './layer-data.js';
import { tileEtag } from '../tiles/etag.js';
import { OVER_BUDGET, writeTileLayer, type TileParams, type WorkBudget } from './tile.js';

const INITIAL_BYTES = 64 * 1024;
const MAX_KEPT_BYTES = 4 * 2 ** 20;

export interface TileRequest extends TileParams {
  /** Pool layer key (whose data the task ships) and MVT layer name, per layer. */
  layers: { key: string; name: string }[];
}

export interface TileAnswer {
  body: Uint8Array | null;
  etag: string | null;
}

/** The tile's bytes out of the writer (which the next tile reuses). */
type CopyOut = (bytes: Uint8Array) => Uint8Array;

/** One writer per thread, reused tile after tile (a new one would regrow from 16 bytes each time). */
let writer = new Pbf(new Uint8Array(INITIAL_BYTES));

/**
 * The tile, or undefined when it takes more than `budget` (vertices kept plus features drawn,
 * see tile.ts): the main thread then hands it to a worker, whose budget is unbounded.
 */
export function cutTile(request: TileRequest, dataOf: (key: string) => MvtLayerData): TileAnswer;
export function cutTile(request: TileRequest, dataOf: (key: string) => MvtLayerData, budget: number, copyOut?: CopyOut, throwIfAbandoned?: () => void): TileAnswer | undefined;
export function cutTile(
  request: TileRequest, dataOf: (key: string) => MvtLayerData, budget = Infinity, copyOut: CopyOut = (bytes) => bytes.slice(), throwIfAbandoned?: () => void,
): TileAnswer | undefined {
  // finish() leaves `length` at the last tile's size: the whole buffer is usable again.
  writer.pos = 0;
  writer.length = writer.buf.length;
  let features = 0;
  const work: WorkBudget = { left: budget, throwIfAbandoned };
  try {
    for (const l of request.layers) features += writeTileLayer(writer, dataOf(l.key), l.name, request, work);
  } catch (e) {
    if (e === OVER_BUDGET) return undefined;
    throw e;
  }
  const body = features === 0 ? null : copyOut(writer.finish());
  // A huge tile (a low zoom over many points) must not pin its buffer for good.
  if (writer.buf.length > MAX_KEPT_BYTES) writer = new Pbf(new Uint8Array(INITIAL_BYTES));
  return body ? { body, etag: tileEtag(body) } : { body: null, etag: null };
}

// No budget: always a tile, unless whoever asked for it has gone.
const tileTask: TaskHandler<TileRequest, TileAnswer> = (request, ctx) =>
  cutTile(request, (key) => ctx.layer<MvtLayerData>(key), Infinity, (bytes) => ctx.resultBytes(bytes), () => ctx.throwIfAbandoned())!;
export default tileTask;
