// Worker task "identify.shape": a long identify shape read from its WKT, checked and brought to
// EPSG:4326 here rather than on the main thread (100,000 vertices take it ~0.4 s); the packed
// answer's buffers are moved back.
import type { TaskHandler } from '../pool/pool.js';
import { packShape, type PackedShape } from './packed-shape.js';
import { shapeOf, type ShapeRequest } from './request.js';

const shapeTask: TaskHandler<ShapeRequest, PackedShape> = async (request, ctx) => {
  const packed = packShape(shapeOf(request));
  ctx.transfer(packed.coords.buffer as ArrayBuffer, packed.counts.buffer as ArrayBuffer);
  return packed;
};
export default shapeTask;
