// Worker task "mvt.tile": one tile with one MVT layer per requested layer, in order. Answers
// no body for a tile without features, else the bytes (moved, not copied) and a strong ETag.
// `cutTile` is the same work for a caller that holds the layers' data itself.
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

export function cutTile(request: TileRequest, dataOf: (key: string) => MvtLayerData): TileAnswer {
  const pbf = new Pbf();
  let features = 0;
  for (const l of request.layers) features += writeTileLayer(pbf, dataOf(l.key), l.name, request);
  if (features === 0) return { body: null, etag: null };
  const body = pbf.finish().slice();
  return { body, etag: mvtEtag(body) };
}

const tileTask: TaskHandler<TileRequest, TileAnswer> = (request, ctx) => {
  const answer = cutTile(request, (key) => ctx.layer<MvtLayerData>(key));
  if (answer.body) ctx.transfer(answer.body.buffer as ArrayBuffer);
  return answer;
};
export default tileTask;
