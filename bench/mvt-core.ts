// Meridian's tiling core in one process, as the naive baseline runs: the layer loaded and prepared
// as the server does it (preparation reported apart, like geojson-vt's index), then each tile taken
// from the low-zoom tiles or cut, one after the other, with no HTTP and no worker pool. It is the
// like-for-like figure to the naive row; the served path adds the HTTP, Koa and pool costs.
// Usage (after npm run build): node --import tsx bench/mvt-core.ts <geojson> <tiles.json>; prints one JSON line.
import { readFileSync } from 'node:fs';
import pino from 'pino';
import type { TaskContext } from '../src/pool/pool.js';

// The build's modules (bench/mvt.ts runs npm run build first), as the server runs them.
const built = <M>(module: string): Promise<M> => import(new URL(`../dist/src/${module}`, import.meta.url).href);
const { loadLayer } = await built<typeof import('../src/store/open.js')>('store/open.js');
const { toTransfer } = await built<typeof import('../src/store/packed.js')>('store/packed.js');
const { sharedCopy } = await built<typeof import('../src/tiling/layer-data.js')>('tiling/layer-data.js');
const { LowZoomIndex } = await built<typeof import('../src/tiling/low-zoom.js')>('tiling/low-zoom.js');
const { DEFAULT_MVT_OPTIONS, lowZoomPlan, mvtLayerName } = await built<typeof import('../src/tiling/mvt-tiles.js')>('tiling/mvt-tiles.js');
const { default: prepare } = await built<typeof import('../src/tiling/prepare-task.js')>('tiling/prepare-task.js');
const { cutTile } = await built<typeof import('../src/tiling/tile-task.js')>('tiling/tile-task.js');

const [file, tilesFile] = process.argv.slice(2);
const tiles = JSON.parse(readFileSync(tilesFile, 'utf8')) as { z: number; x: number; y: number }[];
const t0 = performance.now();
const layer = await loadLayer(file, {}, 'bench', pino({ level: 'warn' }));
const loaded = performance.now();
const { data, lowZoom } = await prepare({
  geometry: toTransfer(layer.geometry), fids: sharedCopy(Float64Array, layer.fids), fields: layer.schema.fields, columns: layer.columns,
  lowZoom: lowZoomPlan(1, layer),
}, {} as TaskContext);
const low = new LowZoomIndex(lowZoom);
const prepared = performance.now();
const name = mvtLayerName(1);
const ms: number[] = [];
let bytes = 0;
for (const { z, x, y } of tiles) {
  const start = performance.now();
  const pre = low.tile(name, z, x, y); // null: known empty
  const body = pre === undefined ? cutTile({ z, x, y, ...DEFAULT_MVT_OPTIONS, layers: [{ key: name, name }] }, () => data).body : pre?.body;
  ms.push(performance.now() - start);
  bytes += body?.length ?? 0;
}
console.log(JSON.stringify({
  loadMs: loaded - t0, prepareMs: prepared - loaded, ms, bytes, peakRssMB: process.resourceUsage().maxRSS / 1024,
}));
