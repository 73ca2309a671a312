// Worker task "mvt.prepare": everything a layer needs before its first tile, computed once per
// layer version: Web Mercator coordinates, per-vertex importance, encoded attributes.
import type { TaskHandler } from '../pool/pool.js';
import type { PackedTransfer } from '../store/packed.js';
import type { FieldDef, FieldValue } from '../store/types.js';
import { buildAttributeTable } from './attributes.js';
import { markImportance } from './importance.js';
import { CHUNK, CHUNK_BITS, type MvtLayerData } from './layer-data.js';
import { projectCoords } from './project.js';

export interface PrepareRequest {
  geometry: PackedTransfer;
  fids: Float64Array;
  fields: FieldDef[];
  rows: FieldValue[][];
}

function chunkBoxes(world: Float64Array): Float64Array {
  const vertices = world.length / 2;
  const boxes = new Float64Array(new SharedArrayBuffer(Math.max(1, Math.ceil(vertices / CHUNK)) * 32));
  for (let c = 0; c * CHUNK < vertices; c++) {
    let minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
    for (let v = c * CHUNK; v < Math.min(vertices, (c + 1) * CHUNK); v++) {
      const x = world[2 * v], y = world[2 * v + 1];
      if (x < minx) minx = x; if (x > maxx) maxx = x;
      if (y < miny) miny = y; if (y > maxy) maxy = y;
    }
    boxes.set([minx, miny, maxx, maxy], c * 4);
  }
  return boxes;
}

function chunkImportance(importance: Float32Array): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(Math.max(1, Math.ceil(importance.length / CHUNK)) * 4));
  for (let v = 0; v < importance.length; v++) if (importance[v] > out[v >> CHUNK_BITS]) out[v >> CHUNK_BITS] = importance[v];
  return out;
}

const prepare: TaskHandler<PrepareRequest, MvtLayerData> = ({ geometry, fids, fields, rows }) => {
  const world = new Float64Array(new SharedArrayBuffer(Math.max(1, geometry.coords.length) * 8));
  projectCoords(geometry.coords, world);
  const importance = new Float32Array(new SharedArrayBuffer(Math.max(1, geometry.coords.length / 2) * 4));
  const parts = geometry.partVertices.length - 1;
  for (let p = 0; p < parts; p++) {
    const first = geometry.partVertices[p], end = geometry.partVertices[p + 1];
    if (end > first) markImportance(world, first, end - 1, importance);
  }
  return {
    geometry, fids, world, importance, chunkBoxes: chunkBoxes(world), chunkImportance: chunkImportance(importance),
    attributes: buildAttributeTable(fields, rows),
  };
};
export default prepare;
