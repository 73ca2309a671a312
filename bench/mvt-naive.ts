// The naive baseline, as the geojson-vt and vt-pbf READMEs show it: one in-memory index over the
// GeoJSON, then getTile + fromGeojsonVt per tile. Run as its own process so its peak RSS is its own.
// Usage: node --import tsx bench/mvt-naive.ts <geojson> <tiles.json>; prints one JSON line.
import { readFileSync } from 'node:fs';
import GeoJSONVT from 'geojson-vt';
import vtpbf from 'vt-pbf';

const [file, tilesFile] = process.argv.slice(2);
const tiles = JSON.parse(readFileSync(tilesFile, 'utf8')) as { z: number; x: number; y: number }[];
const t0 = performance.now();
const data = JSON.parse(readFileSync(file, 'utf8'));
const parsed = performance.now();
const index = new GeoJSONVT(data, { maxZoom: 14 });
const built = performance.now();
const ms: number[] = [];
let bytes = 0;
for (const { z, x, y } of tiles) {
  const start = performance.now();
  const tile = index.getTile(z, x, y);
  const buf = tile ? vtpbf.fromGeojsonVt({ layer: tile }, { version: 2 }) : null;
  ms.push(performance.now() - start);
  bytes += buf?.length ?? 0;
}
console.log(JSON.stringify({
  parseMs: parsed - t0, indexMs: built - parsed, ms, bytes, peakRssMB: process.resourceUsage().maxRSS / 1024,
}));
