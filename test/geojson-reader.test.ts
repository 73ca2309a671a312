// The GeoJSON reader: the byte scanner that splits a FeatureCollection into members and features
// (whatever the chunk boundaries), its syntax errors, and the reader built on it, against JSON.parse.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SourceError } from '../src/store/source.js';
import { openGeoJson } from '../src/store/sources/geojson.js';
import { jsonMembers, JsonSyntaxError } from '../src/store/sources/json-members.js';

async function* inChunks(text: string | Buffer, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function pieces(text: string | Buffer, size = 1 << 20): Promise<[string, unknown, boolean][]> {
  const out: [string, unknown, boolean][] = [];
  for await (const p of jsonMembers(inChunks(text, size), 'features')) out.push([p.key, JSON.parse(p.value.toString('utf8')), p.element]);
  return out;
}

const TRICKY = '\ufeff {"name" : "a \\"quoted\\" }]{[ name, é ✓", "count":-1.5e3,"flag":true, "none":null,\n'
  + '"features": [ {"type":"Feature","properties":{"s":"\\\\"},"geometry":{"type":"Point","coordinates":[1,2]}} ,7, "x",[[]],false ] ,\r\n'
  + '\t"tail": {"k": [1, {"n": "}"}]}, "empty": [], "after": 0}  \n';

test('members and features come out whole and in order, wherever the chunks split the bytes', async () => {
  const expected: [string, unknown, boolean][] = [
    ['name', 'a "quoted" }]{[ name, é ✓', false], ['count', -1500, false], ['flag', true, false], ['none', null, false],
    ['features', { type: 'Feature', properties: { s: '\\' }, geometry: { type: 'Point', coordinates: [1, 2] } }, true],
    ['features', 7, true], ['features', 'x', true], ['features', [[]], true], ['features', false, true],
    ['tail', { k: [1, { n: '}' }] }, false], ['empty', [], false], ['after', 0, false],
  ];
  assert.deepEqual(await pieces(TRICKY), expected);
  for (const size of [1, 2, 3, 5, 7, 64]) assert.deepEqual(await pieces(TRICKY, size), expected, `chunks of ${size} bytes`);
  assert.deepEqual(await pieces('{"features":[]}', 1), []);
  assert.deepEqual(await pieces('{}'), []);
});

test('a broken structure is a syntax error naming the byte where it breaks', async () => {
  const cases: [string, RegExp][] = [
    ['[1, 2]', /expected a JSON object at byte 0/],
    ['{"a" 1}', /expected ":" at byte 5/],
    ['{"a": 1 "b": 2}', /expected "," or "}" at byte 8/],
    ['{a: 1}', /expected a member name at byte 1/],
    ['{"a": 1,}', /expected a member name at byte 8/],
    ['{"a": ,}', /expected a value at byte 6/],
    ['{"features": [1 2]}', /expected "," or "]" at byte 16/],
    ['{"features": [1,]}', /expected a value at byte 16/],
    ['{"a": 1} x', /unexpected data after the object at byte 9/],
    ['{"features": [{"type": "Feature"', /unexpected end of the input at byte 32/],
    ['{"a": "open', /unexpected end of the input/],
    ['', /unexpected end of the input at byte 0/],
  ];
  for (const [text, message] of cases) {
    for (const size of [1, 1 << 20]) await assert.rejects(pieces(text, size), (e: Error) => e instanceof JsonSyntaxError && message.test(e.message), `${text} (chunks of ${size})`);
  }
});

test('the GeoJSON reader gives every feature as JSON.parse reads it, large features included, and says what is wrong with a bad file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-geojson-'));
  try {
    // One outline of 300,000 vertices (~8 MB, parsed in steps) between two small features.
    const ring = Array.from({ length: 300_000 }, (_, i) => [Math.cos(i / 47746.48) * 170.123456789, Math.sin(i / 47746.48) * 80.987654321]);
    ring.push(ring[0]);
    const collection = {
      type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:OGC:1.3:CRS84' } },
      features: [
        { type: 'Feature', id: 1, properties: { name: 'é "x"', n: 1.5 }, geometry: { type: 'Point', coordinates: [1, 2] } },
        { type: 'Feature', id: 2, properties: { name: 'big' }, geometry: { type: 'Polygon', coordinates: [ring] } },
        { type: 'Feature', id: 3, properties: null, geometry: null },
      ],
    };
    const file = join(dir, 'layer.geojson');
    writeFileSync(file, JSON.stringify(collection));
    const reader = await openGeoJson(file);
    assert.equal(reader.crs, 'urn:ogc:def:crs:OGC:1.3:CRS84');
    const read = [];
    for await (const f of reader.features) read.push(f);
    assert.deepEqual(read, collection.features.map((f) => ({ id: f.id, geometry: f.geometry, properties: f.properties })));

    const bad: [string, RegExp][] = [
      ['{"type":"FeatureCollection","features":[{"type":"Feature",', /^not valid JSON: unexpected end of the input/],
      ['{"type":"FeatureCollection","features":[{"type":"Feature","geometry":nul}]}', /^not valid JSON: /],
      ['{"type":"FeatureCollection","features":{}}', /"features" is not an array/],
      ['{"type":"Topology","features":[]}', /not a GeoJSON FeatureCollection/],
      ['{"type":"FeatureCollection","features":[{"type":"Point","coordinates":[1,2]}]}', /an element of "features" is not a Feature/],
      ['{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{}},[]]}', /an element of "features" is not a Feature/],
      ['{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{}}],"crs":{"type":"name","properties":{"name":"EPSG:3857"}}}', /"crs" member must come before "features"/],
    ];
    for (const [text, message] of bad) {
      writeFileSync(file, text);
      const failure = (async () => { for await (const _ of (await openGeoJson(file)).features); })();
      await assert.rejects(failure, (e: Error) => e instanceof SourceError && message.test(e.message), text);
    }
    // A big feature that is not valid JSON is reported as well.
    writeFileSync(file, JSON.stringify(collection).replace('"big"', 'big'));
    await assert.rejects((async () => { for await (const _ of (await openGeoJson(file)).features); })(), (e: Error) => e instanceof SourceError && /^not valid JSON/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
