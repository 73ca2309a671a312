// Rendering speed on the sample data and its QGIS styles: every tile of zooms 0–4 for each style,
// timed per tile (features to PNG), against the floor of encoding the same pixels alone.
// Run: npm run bench:render   (one thread, as one worker of the pool runs it)
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { tileFrame } from '../src/render/frame.js';
import sharp from 'sharp';
import { encodePng, rasterizeSvg, transparentPng, type Rgba8 } from '../src/render/png.js';
import { parseQml } from '../src/render/qml.js';
import { pixelGeometries, type RenderLayerData } from '../src/render/layer-render.js';
import { renderSvg } from '../src/render/svg.js';
import { loadLayer } from '../src/store/open.js';
import { toTransfer } from '../src/store/packed.js';

const ROOT = resolve(import.meta.dirname, '..');
const MAX_ZOOM = Number(process.env.BENCH_MAX_ZOOM ?? 4);
const STYLES: [string, string][] = [
  ['countries110.geojson', 'countries110_single.qml'], ['countries110.geojson', 'countries110_categorized.qml'],
  ['countries110.geojson', 'countries110_rules.qml'], ['parallels.geojson', 'parallels_line.qml'],
  ['sites.geojson', 'sites_graduated.qml'],
];

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ms = (v: number) => `${v.toFixed(2)} ms`;

async function main(): Promise<void> {
  const log = pino({ level: 'silent' });
  console.log(`machine: ${cpus()[0].model} ×${cpus().length}, node ${process.version}`);
  console.log(`dataset: sample Natural Earth 1:110m data (data/), QGIS-written styles (styles/), every tile of z0–${MAX_ZOOM}`);
  const render: number[] = [], floor: number[] = [];
  /** Per palette tile: Meridian's encoding ms, libimagequant's ms, and both sizes. */
  const palette: [number, number, number, number][] = [];
  let drawn = 0, total = 0, bytes = 0;
  const started = performance.now();
  for (const [file, qml] of STYLES) {
    const layer = await loadLayer(join(ROOT, 'data', file), {}, file, log);
    const style = parseQml(readFileSync(join(ROOT, 'styles', qml), 'utf8'));
    const data: RenderLayerData = { geometry: toTransfer(layer.geometry), fields: layer.schema.fields.map((f) => f.keyname), columns: layer.columns };
    for (let z = 0; z <= MAX_ZOOM; z++) {
      for (let x = 0; x < 2 ** z; x++) {
        for (let y = 0; y < 2 ** z; y++) {
          total++;
          const t0 = performance.now();
          const frame = tileFrame(z, x, y);
          // The steps of the render task (src/render/task.ts), timed apart from the encoding.
          const svg = renderSvg([{ style, geometries: pixelGeometries(data, style, frame) }], frame);
          if (!svg) continue; // empty tiles are answered from one cached PNG
          const rgba = await rasterizeSvg(svg);
          const png = await encodePng(rgba);
          const t1 = performance.now();
          await encodePng(rgba);
          const t2 = performance.now();
          render.push(t1 - t0);
          floor.push(t2 - t1);
          drawn++;
          bytes += png.length;
          if (png[25] === 3) {
            // A palette tile (IHDR's colour type 3): against libimagequant through sharp.
            const t3 = performance.now();
            const quantized = await quantizedPng(rgba);
            palette.push([t2 - t1, performance.now() - t3, png.length, quantized.length]);
          }
        }
      }
    }
  }
  const elapsed = (performance.now() - started) / 1000;
  render.sort((a, b) => a - b);
  floor.sort((a, b) => a - b);
  const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
  console.log(`tiles: ${total} (${drawn} with something drawn), ${(bytes / drawn / 1024).toFixed(1)} KiB per drawn tile`);
  console.log(`render (features → PNG): ${(drawn / (sum(render) / 1000)).toFixed(0)} tiles/s, p50 ${ms(quantile(render, 0.5))}, p95 ${ms(quantile(render, 0.95))}`);
  console.log(`floor (PNG encoding only): ${(drawn / (sum(floor) / 1000)).toFixed(0)} tiles/s, p50 ${ms(quantile(floor, 0.5))}, p95 ${ms(quantile(floor, 0.95))}`);
  console.log(`ratio render / floor: ${(sum(render) / sum(floor)).toFixed(2)}× (p50 ${(quantile(render, 0.5) / quantile(floor, 0.5)).toFixed(2)}×)`);
  console.log(`wall time ${elapsed.toFixed(1)} s`);
  const column = (k: number) => palette.map((row) => row[k]).sort((a, b) => a - b);
  const [ours, quantized] = [column(0), column(1)];
  console.log(`palette tiles (${palette.length}): written p50 ${ms(quantile(ours, 0.5))}, p95 ${ms(quantile(ours, 0.95))}, ${(sum(column(2)) / palette.length / 1024).toFixed(1)} KiB; `
    + `libimagequant (sharp, effort 10) p50 ${ms(quantile(quantized, 0.5))}, p95 ${ms(quantile(quantized, 0.95))}, ${(sum(column(3)) / palette.length / 1024).toFixed(1)} KiB: `
    + `${(sum(quantized) / sum(ours)).toFixed(1)}× the time (p50 ${(quantile(quantized, 0.5) / quantile(ours, 0.5)).toFixed(1)}×)`);
  await emptyImages();
}

/** The palette PNG sharp makes, through libimagequant: exact only at its slowest speed (the encoder before 25 Nov). */
function quantizedPng({ data, width, height }: Rgba8): Promise<Buffer> {
  const colours = new Set(new Uint32Array(data.buffer, data.byteOffset, width * height)).size;
  return sharp(data, { raw: { width, height, channels: 4 } })
    .png({ palette: true, colours: Math.max(2, colours), quality: 100, dither: 0, effort: 10, compressionLevel: 6 }).toBuffer();
}

/** An image of nothing (render/image where nothing is drawn): the written transparent PNG against encoding its pixels. */
async function emptyImages(): Promise<void> {
  for (const size of [256, 1024, 4096]) {
    const t0 = performance.now();
    const written = transparentPng(size, size);
    const t1 = performance.now();
    const encoded = await encodePng({ data: Buffer.alloc(size * size * 4), width: size, height: size });
    const t2 = performance.now();
    console.log(`empty ${size}×${size}: written ${ms(t1 - t0)} (${written.length} B), encoded ${ms(t2 - t1)} (${encoded.length} B): ${((t2 - t1) / (t1 - t0)).toFixed(0)}×`);
  }
}

await main();
