// Worker task "mvt.prepare": everything a layer needs before its first tile, computed once per
// layer version: Web Mercator coordinates, per-vertex importance, the block pyramids,
// encoded attributes, and the low-zoom tiles (low-zoom.ts).
import type { TaskHandler } from '../pool/pool.js';
import type { Column } from '../store/columns.js';
import type { PackedTransfer } from '../store/packed.js';
import type { FieldDef } from '../store/types.js';
import { buildAttributeTable } from './attributes.js';
import { partBlocks, vertexBlocks } from './blocks.js';
import { markImportance } from './importance.js';
import type { MvtLayerData } from './layer-data.js';
import { cutLowZooms, type LowZoomRequest, type LowZoomTiles } from './low-zoom.js';
import { inSpatialOrder, isOnePointEach, reorderRows } from './point-order.js';
import { projectCoords } from './project.js';

export interface PrepareRequest {
  geometry: PackedTransfer;
  fids: Float64Array;
  fields: FieldDef[];
  columns: Column[];
  lowZoom: LowZoomRequest;
}

export interface PreparedLayer {
  /** What the tile workers hold. */
  data: MvtLayerData;
  /** Kept on the main thread. */
  lowZoom: LowZoomTiles;
}

const prepare: TaskHandler<PrepareRequest, PreparedLayer> = ({ geometry: source, fids: sourceFids, fields, columns, lowZoom }) => {
  // A layer of single points is tiled from a copy in spatial order (point-order.ts), which has no part pyramid.
  const onePointEach = isOnePointEach(source);
  const spatial = source.count > 1 && onePointEach ? inSpatialOrder(source) : null;
  const geometry = spatial?.geometry ?? source;
  const fids = spatial ? reorderRows(sourceFids, spatial.order) : sourceFids;
  const coords = spatial?.coords ?? source.coords;
  const world = new Float64Array(new SharedArrayBuffer(Math.max(1, coords.length) * 8));
  projectCoords(coords, world);
  const importance = new Float32Array(new SharedArrayBuffer(Math.max(1, coords.length / 2) * 4));
  const parts = geometry.partVertices.length - 1;
  for (let p = 0; p < parts; p++) {
    const first = geometry.partVertices[p], end = geometry.partVertices[p + 1];
    if (end > first) markImportance(world, first, end - 1, importance);
  }
  const data: MvtLayerData = {
    geometry, fids, world, importance,
    blocks: vertexBlocks(world, importance),
    parts: onePointEach ? null : partBlocks(world, geometry.partVertices),
    attributes: buildAttributeTable(fields, columns, fids.length, spatial?.order),
  };
  return { data, lowZoom: cutLowZooms(data, lowZoom) };
};
export default prepare;
