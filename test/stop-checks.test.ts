// The stop checks inside long loops: a tile cut and an identify search ask `throwIfAbandoned` every
// 1,024 candidates (in a worker it throws once whoever asked has gone, see pool/worker.ts), stop at
// its throw, and leave nothing behind that the next piece of work would see.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import pino from 'pino';
import { PreparedArea } from '../src/identify/area.js';
import { matchRows } from '../src/identify/search.js';
import type { TaskContext } from '../src/pool/pool.js';
import { loadLayer } from '../src/store/open.js';
import { toTransfer } from '../src/store/packed.js';
import type { MemoryLayer } from '../src/store/memory-layer.js';
import { sharedCopy, type MvtLayerData } from '../src/tiling/layer-data.js';
import { DEFAULT_MVT_OPTIONS, lowZoomPlan } from '../src/tiling/mvt-tiles.js';
import prepare from '../src/tiling/prepare-task.js';
import { cutTile } from '../src/tiling/tile-task.js';
import { writePointLayer } from './helpers/point-layer.js';
import { tempData } from './helpers/server.js';

const POINTS = 20_000;
const GONE = new Error('whoever asked has gone');

/** A stop check that counts its calls and throws from call `throwAt` on (never when 0). */
function stopCheck(throwAt = 0) {
  const check = () => {
    check.calls++;
    if (throwAt && check.calls >= throwAt) throw GONE;
  };
  check.calls = 0;
  return check;
}

let layer: MemoryLayer;
let data: MvtLayerData;

before(async () => {
  const file = join(tempData(), 'points.geojson');
  await writePointLayer(file, POINTS);
  layer = await loadLayer(file, {}, 'points', pino({ level: 'silent' }));
  const prepared = await prepare({
    geometry: toTransfer(layer.geometry), fids: sharedCopy(Float64Array, layer.fids), fields: layer.schema.fields, columns: layer.columns,
    lowZoom: lowZoomPlan('points', layer),
  }, {} as TaskContext);
  data = prepared.data;
});

describe('tile cut', () => {
  const request = { z: 0, x: 0, y: 0, ...DEFAULT_MVT_OPTIONS, layers: [{ key: 'k', name: 'points' }] };

  it('asks once per 1,024 candidates and stops at the first throw', () => {
    const check = stopCheck();
    const whole = cutTile(request, () => data, Infinity, undefined, check);
    assert.ok(whole?.body, 'the tile holds the points');
    // Points within the buffer of the antimeridian are candidates at two shifts (the world's copies).
    assert.ok(check.calls >= Math.ceil(POINTS / 1024) && check.calls <= Math.ceil(2 * POINTS / 1024), `${check.calls} checks`);

    const stopping = stopCheck(3);
    assert.throws(() => cutTile(request, () => data, Infinity, undefined, stopping), GONE);
    assert.equal(stopping.calls, 3, 'nothing more is cut after the throw');
  });

  it('leaves the reused writer clean: the next cut gives the same tile', () => {
    const before = cutTile(request, () => data).body!;
    assert.throws(() => cutTile(request, () => data, Infinity, undefined, stopCheck(2)), GONE);
    assert.deepEqual(cutTile(request, () => data).body, before);
  });
});

describe('identify search', () => {
  const world = new PreparedArea({ type: 'Polygon', coordinates: [[[-180, -85], [180, -85], [180, 85], [-180, 85], [-180, -85]]] });

  it('asks once per 1,024 rows and stops at the first throw', async () => {
    const check = stopCheck();
    const hits = await matchRows(layer.geometry, null, { area: world }, Infinity, check);
    assert.equal(hits.length, POINTS);
    assert.equal(check.calls, Math.floor(POINTS / 1024));

    const stopping = stopCheck(2);
    await assert.rejects(matchRows(layer.geometry, null, { area: world }, Infinity, stopping), GONE);
    assert.equal(stopping.calls, 2, 'nothing more is searched after the throw');
  });
});
