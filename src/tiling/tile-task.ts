// Worker task "mvt.tile": one tile with one MVT layer per requested layer, in order. Answers
// no body for a tile without features, else the bytes (moved, not copied) and a strong ETag.
import { PbfWriter as Pbf } from 'pbf';
import type { TaskHandler } from '../pool/pool.js';
import type { MvtLayerData } from './layer-data.js';
import { mvtEtag } from './low-zoom.js';
import { writeTileLayer, type TileParams } from './tile.js';

export interface TileRequest extends TileParams {
  /** Pool layer key (whose data the task ships) and MVT layer name, per layer. */
  layers: { key: string; name: string }[];
}

export interface TileAnswer {
  body: Uint8Array | null;
  etag: string | null;
}

const tileTask: TaskHandler<TileRequest, TileAnswer> = (request, ctx) => {
  const pbf = new Pbf();
  let features = 0;
  for (const l of request.layers) features += writeTileLayer(pbf, ctx.layer<MvtLayerData>(l.key), l.name, request);
  if (features === 0) return { body: null, etag: null };
  const body = pbf.finish().slice();
  ctx.transfer(body.buffer as ArrayBuffer);
  return { body, etag: mvtEtag(body) };
};
export default tileTask;
