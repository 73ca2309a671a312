// The naive baseline, as the geojson-vt and vt-pbf READMEs show it: one in-memory index over the
// GeoJSON, then getTile + fromGeojsonVt per tile. Run as its own process so its peak RSS is its own.
// Usage: node --import tsx bench/mvt-naive.ts <geojson> <tiles.json>; prints one JSON line.
// With --serve instead of <tiles.json>: the same behind a bare node:http server (GET /z/x/y, 204
// when empty), as a user would serve it; prints {"port"} once the index is built.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import GeoJSONVT from 'geojson-vt';
import vtpbf from 'vt-pbf';

const [file, tilesFile] = process.argv.slice(2);
const t0 = performance.now();
const data = JSON.parse(readFileSync(file, 'utf8'));
const parsed = performance.now();
const index = new GeoJSONVT(data, { maxZoom: 14 });
const built = performance.now();

const encode = (z: number, x: number, y: number) => {
  const tile = index.getTile(z, x, y);
  return tile ? vtpbf.fromGeojsonVt({ layer: tile }, { version: 2 }) : null;
};

if (tilesFile === '--serve') {
  const server = createServer((req, res) => {
    const [z, x, y] = (req.url ?? '').split('/').slice(1).map(Number);
    const body = encode(z, x, y);
    if (!body) { res.statusCode = 204; res.end(); return; }
    res.setHeader('Content-Type', 'application/vnd.mapbox-vector-tile');
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as { port: number }).port })));
} else {
  const tiles = JSON.parse(readFileSync(tilesFile, 'utf8')) as { z: number; x: number; y: number }[];
  const ms: number[] = [];
  let bytes = 0;
  for (const { z, x, y } of tiles) {
    const start = performance.now();
    bytes += encode(z, x, y)?.length ?? 0;
    ms.push(performance.now() - start);
  }
  console.log(JSON.stringify({
    parseMs: parsed - t0, indexMs: built - parsed, ms, bytes, peakRssMB: process.resourceUsage().maxRSS / 1024,
  }));
}
