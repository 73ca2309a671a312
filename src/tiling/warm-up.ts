// The main thread cuts small tiles itself (see mvt-tiles.ts). Its first cuts would run unoptimized
// code, several times slower than a worker's, just when a server starts serving. So once per
// process, when a layer has been prepared, it cuts a few of that layer's pre-cut tiles again
// within the main-thread budget and drops them: one per turn of the event loop (at most a few ms
// each, the first ones), so requests meanwhile are not held up.
import type { MvtLayerData } from './layer-data.js';
import type { LowZoomIndex } from './low-zoom.js';
import { cutTile } from './tile-task.js';
import type { TileParams } from './tile.js';

/** Enough cuts for V8 to optimize the tile code's loops (some 30 ms in all); each stops at the budget. */
const WARM_UP_TILES = 32;

let warmed = false;

export function warmUpMainThread(data: MvtLayerData, lowZoom: LowZoomIndex, params: Omit<TileParams, 'z' | 'x' | 'y'>, budget: number): void {
  if (warmed || lowZoom.count === 0) return;
  warmed = true;
  // The highest zooms first: their tiles look most like the ones cut here later.
  const tiles = lowZoom.addresses().reverse().slice(0, WARM_UP_TILES);
  const next = () => {
    const at = tiles.shift();
    if (!at) return;
    cutTile({ ...at, ...params, layers: [{ key: '', name: '' }] }, () => data, budget);
    setImmediate(next);
  };
  setImmediate(next);
}
