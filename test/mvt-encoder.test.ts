// The MVT encoder against @mapbox/mvt-fixtures: every fixture valid for spec v2 is decoded,
// written again with our writer (commands.ts, encode.ts, values.ts) and decoded once more;
// both decodings must agree on layers, ids, types, properties and geometry.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { VectorTile, VectorTileFeature } from '@mapbox/vector-tile';
import { PbfWriter } from 'pbf';
import { CommandWriter } from '../src/tiling/commands.js';
import { writeFeature, writeLayer } from '../src/tiling/encode.js';
import { writeValue, type MvtValue } from '../src/tiling/values.js';
import { decode, features, ringArea } from './helpers/mvt.js';

interface Fixture { id: string; description: string; buffer: Buffer; validity: { v2: boolean } }
const mvtf = createRequire(import.meta.url)('@mapbox/mvt-fixtures') as { each(fn: (f: Fixture) => void): void };

function geometryOf(f: VectorTileFeature, commands: CommandWriter): void {
  commands.reset();
  if (f.type === 0) return; // UNKNOWN geometry is opaque to a decoder; we never write it
  const rings = f.loadGeometry();
  if (f.type === 1) {
    const xy = rings.flat().flatMap((p) => [p.x, p.y]);
    commands.points(xy, 0, xy.length);
  }
  for (const ring of f.type === 1 ? [] : rings) {
    const xy = ring.flatMap((p) => [p.x, p.y]);
    if (f.type === 2) commands.line(xy, 0, xy.length);
    else commands.ring(xy, 0, xy.length, ringArea(ring) > 0);
  }
}

/** Writes a decoded tile back with our encoder. */
function reencode(tile: VectorTile): Uint8Array {
  const pbf = new PbfWriter();
  const commands = new CommandWriter();
  for (const [name, layer] of Object.entries(tile.layers)) {
    writeLayer(pbf, name, layer.extent, (pbf) => {
      const keys: string[] = [];
      const values: MvtValue[] = [];
      const slot = <T>(list: T[], v: T) => (list.includes(v) ? list.indexOf(v) : list.push(v) - 1);
      for (const f of features(tile, name)) {
        geometryOf(f, commands);
        const tags = Object.entries(f.properties).flatMap(([k, v]) => [slot(keys, k), slot(values, v)]);
        writeFeature(pbf, f.id ?? null, f.type as 0 | 1 | 2 | 3, { data: Uint32Array.from(tags), length: tags.length }, commands.out);
      }
      return { keys, writeValues: (pbf) => values.forEach((v) => pbf.writeMessage(4, (val: MvtValue, p: PbfWriter) => writeValue(p, val), v)) };
    });
  }
  return pbf.finish();
}

function summary(tile: VectorTile) {
  return Object.entries(tile.layers).map(([name, layer]) => ({
    name, version: layer.version, extent: layer.extent,
    features: features(tile, name).map((f) => ({
      id: f.id, type: f.type, properties: { ...f.properties },
      geometry: f.type === 0 ? null : f.loadGeometry().map((ring) => ring.map((p) => [p.x, p.y])),
    })),
  }));
}

const valid: Fixture[] = [];
mvtf.each((f) => { if (f.validity.v2) valid.push(f); });

test('fixtures are there to test against', () => assert.ok(valid.length > 40));

for (const fixture of valid) {
  test(`fixture ${fixture.id} survives decode → encode → decode: ${fixture.description.slice(0, 60)}`, () => {
    const original = decode(fixture.buffer);
    const again = decode(reencode(original));
    assert.deepEqual(summary(again), summary(original).map((l) => ({ ...l, version: 2 })));
  });
}
