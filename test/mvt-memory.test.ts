// A layer's tiling memory (tiling/prepare-task.ts) is fixed when it is prepared, a small multiple
// of its raw coordinates, whatever tiles are asked afterwards: no per-layer structure grows with zoom.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { TaskContext } from '../src/pool/pool.js';
import { loadLayer } from '../src/store/open.js';
import { toTransfer } from '../src/store/packed.js';
import { sharedCopy } from '../src/tiling/layer-data.js';
import { DEFAULT_MVT_OPTIONS, lowZoomPlan } from '../src/tiling/mvt-tiles.js';
import prepare from '../src/tiling/prepare-task.js';
import { cutTile } from '../src/tiling/tile-task.js';
import { SAMPLE_DATA, tempData } from './helpers/server.js';

/** Bytes of every distinct buffer reachable from `value`. */
function bufferBytes(value: unknown, seen = new Set<unknown>()): number {
  if (value === null || typeof value !== 'object' || seen.has(value)) return 0;
  seen.add(value);
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value.byteLength;
  if (ArrayBuffer.isView(value)) return bufferBytes(value.buffer, seen);
  return Object.values(value).reduce((sum: number, v) => sum + bufferBytes(v, seen), 0);
}

/** 20,000 points spread over the world. */
function pointsFile(): string {
  const file = join(tempData(), 'points.geojson');
  const features = Array.from({ length: 20_000 }, (_, i) => ({
    type: 'Feature', properties: { n: i }, geometry: { type: 'Point', coordinates: [((i * 7919) % 36000) / 100 - 180, ((i * 104729) % 17000) / 100 - 85] },
  }));
  writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features }));
  return file;
}

const tiles = Array.from({ length: 15 }, (_, z) => z).flatMap((z) => {
  const n = 2 ** z;
  return [0.1, 0.3, 0.5, 0.7, 0.9].map((f) => ({ z, x: Math.floor(f * n), y: Math.floor((1 - f) * n * 0.8) }));
});

describe('tiling memory', () => {
  for (const [name, file, bound] of [
    ['polygons', join(SAMPLE_DATA, 'countries110.geojson'), 3],
    ['lines', join(SAMPLE_DATA, 'parallels.geojson'), 3],
    ['points', pointsFile(), 6.5],
  ] as const) {
    it(`${name}: at most ${bound}× the coordinates, and unchanged by tiles of every zoom`, async () => {
      const layer = await loadLayer(file, {}, name, pino({ level: 'silent' }));
      const prepared = await prepare({
        geometry: toTransfer(layer.geometry), fids: sharedCopy(Float64Array, layer.fids), fields: layer.schema.fields, columns: layer.columns,
        lowZoom: lowZoomPlan(1, layer),
      }, {} as TaskContext);
      const coords = layer.geometry.coords.byteLength;
      const bytes = bufferBytes(prepared);
      console.log(`# ${name}: tiling memory ${(bytes / coords).toFixed(2)}× the coordinates (${bytes} bytes)`);
      assert.ok(bytes <= bound * coords, `${bytes} bytes for ${coords} bytes of coordinates`);
      let cut = 0;
      for (const t of tiles) cut += cutTile({ ...t, ...DEFAULT_MVT_OPTIONS, layers: [{ key: 'k', name: 'l' }] }, () => prepared.data).body?.length ?? 0;
      assert.ok(cut > 0, 'the tiles hold features');
      assert.equal(bufferBytes(prepared), bytes);
    });
  }
});
