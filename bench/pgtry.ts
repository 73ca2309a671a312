import { runPostgis } from '/work/wt-tiling/bench/mvt-postgis.ts';
import { COUNTRIES, tileSet } from '/work/wt-tiling/bench/mvt-data.ts';
const r = await runPostgis('postgresql://postgres@localhost:55432/bench', COUNTRIES, 'bench_countries10m', 250, ['A3'], tileSet(true));
console.log(r.loadMs, r.ms.map(m => m.toFixed(1)).join(' '), r.bytes, r.backendPeakRssMB);
