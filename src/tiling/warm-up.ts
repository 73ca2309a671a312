// The main thread cuts small tiles itself (see mvt-tiles.ts). Its first cuts would run unoptimized
// code, several times slower than a worker's, just when a server starts serving. So once per
// process, when a layer has been prepared, it cuts a few of that layer's pre-cut tiles again
// within the main-thread budget (a few milliseconds at most) and drops them.
import type { MvtLayerData } from './layer-data.js';
import type { LowZoomIndex } from './low-zoom.js';
import { cutTile } from './tile-task.js';
import type { TileParams } from './tile.js';

/** Enough cuts for V8 to optimize the tile code's loops; each stops at the budget. */
const WARM_UP_TILES = 32;

let warmed = false;

export function warmUpMainThread(data: MvtLayerData, lowZoom: LowZoomIndex, params: Omit<TileParams, 'z' | 'x' | 'y'>, budget: number): void {
  if (warmed || lowZoom.count === 0) return;
  warmed = true;
  // The highest zooms first: their tiles look most like the ones cut here later.
  for (const at of lowZoom.addresses().reverse().slice(0, WARM_UP_TILES)) {
    cutTile({ ...at, ...params, layers: [{ key: '', name: '' }] }, () => data, budget);
  }
}
