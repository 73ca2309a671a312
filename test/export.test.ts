// Whole-layer exports: GeoJSON and CSV with their options, zipped downloads, the deprecated URL,
// QML, and GDAL reading what we write.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser } from 'fast-xml-parser';
import yauzl from 'yauzl';
import { fixtureData, SAMPLE_STYLES, startServer, type TestServer } from './helpers/server.js';

/** The entries of a zip archive, decoded with yauzl. */
function unzip(buffer: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const files = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => zip.openReadStream(entry, (e, stream) => {
        if (e) return reject(e);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c)).on('end', () => { files.set(entry.fileName, Buffer.concat(chunks)); zip.readEntry(); });
      }));
      zip.on('end', () => resolve(files)).on('error', reject);
      zip.readEntry();
    });
  });
}

describe('exports', () => {
  let s: TestServer;
  before(async () => { s = await startServer({ dataDir: fixtureData(), stylesDir: SAMPLE_STYLES }); });
  after(() => s.stop());

  it('GeoJSON: a FeatureCollection in EPSG:4326 named after the keyname, ids carried', async () => {
    const res = await s.get('/api/resource/4/geojson');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^application\/geo\+json/);
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="parcels.geojson"');
    const doc = await res.json() as any;
    assert.equal(doc.type, 'FeatureCollection');
    assert.equal(doc.crs, undefined, 'RFC 7946 output needs no crs member');
    assert.deepEqual(doc.features.map((f: any) => f.id), [10, 20, 30]);
    assert.deepEqual(doc.features[0].properties, { owner: 'Ada', value: 5000000000, ratio: 0.25, surveyed: '2021-03-04', updated: '2024-01-02T10:20:30' });
  });

  it('GeoJSON options: srs=3857 (with a crs member), fields, intersects, fid', async () => {
    const doc = await (await s.get(`/api/resource/4/geojson?srs=3857&fields=owner&fid=ngw_id&intersects=${encodeURIComponent('POINT(1150000 5700000)')}`)).json() as any;
    assert.equal(doc.crs.properties.name, 'urn:ogc:def:crs:EPSG::3857');
    assert.equal(doc.features.length, 1);
    assert.deepEqual(doc.features[0].properties, { ngw_id: 20, owner: 'Grace' });
    const [x, y] = doc.features[0].geometry.coordinates[0][0];
    assert.ok(Math.abs(x - 1113194.90793274) < 1e-3 && Math.abs(y - 5621521.48619207) < 1e-3, `${x} ${y}`);
    // A name every object has is a property like another.
    const proto = await (await s.get('/api/resource/4/geojson?fields=owner&fid=__proto__')).text();
    assert.match(proto, /"properties":\{"__proto__":\d+,"owner":/);
  });

  it('GeoJSON zipped=yes: a zip holding the same document; the deprecated /resource/{id}/geojson/ answers the same', async () => {
    const plain = await (await s.get('/api/resource/7/geojson')).text();
    const res = await s.get('/api/resource/7/geojson?zipped=yes');
    assert.equal(res.headers.get('content-type'), 'application/zip');
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="events.zip"');
    const files = await unzip(Buffer.from(await res.arrayBuffer()));
    assert.deepEqual([...files.keys()], ['events.geojson']);
    assert.equal(files.get('events.geojson')!.toString('utf8'), plain);
    assert.equal(await (await s.get('/resource/7/geojson/')).text(), plain);
  });

  it('CSV: geom as WKT, RFC 4180 quoting, CRLF rows, UTF-8 with an optional BOM', async () => {
    const res = await s.get('/api/resource/2/csv?srs=32633');
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="towns_shp.csv"');
    const text = await res.text();
    assert.ok(text.includes('\r\n') && !/[^\r]\n/.test(text), 'rows end in CRLF');
    assert.ok(text.includes('"Zagreb, ""Agram"""'), 'quotes doubled inside a quoted value');
    const rows = parseCsv<Record<string, string>>(text, { columns: true });
    assert.deepEqual(Object.keys(rows[0]), ['geom', 'name', 'pop', 'area_km2', 'founded']);
    assert.equal(rows.length, 5);
    assert.deepEqual({ ...rows[4], geom: undefined }, { geom: undefined, name: 'Zagreb, "Agram"', pop: '767000', area_km2: '641.32', founded: '1094-01-01' });
    assert.equal(rows[3].founded, '', 'NULL is an empty cell');
    const [x, y] = /POINT ?\((\S+) (\S+)\)/.exec(rows[3].geom)!.slice(1).map(Number);
    assert.ok(Math.abs(x - 500000) < 1e-3 && Math.abs(y) < 1e-3, `${x} ${y}`);
    const bom = Buffer.from(await (await s.get('/api/resource/2/csv?encoding=UTF-8-BOM&fields=name')).arrayBuffer());
    assert.deepEqual([...bom.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    assert.equal(bom.subarray(3).toString('utf8').split('\r\n')[0], 'geom,name');
    const zipped = await unzip(Buffer.from(await (await s.get('/api/resource/2/csv?srs=32633&zipped=yes')).arrayBuffer()));
    assert.equal(zipped.get('towns_shp.csv')!.toString('utf8'), text);
  });

  it('QML: the style file as XML, with a file name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-qml-'));
    try {
      writeFileSync(join(dir, 'catalog.json'), JSON.stringify({ resources: [
        { id: 1, cls: 'vector_layer', parent: 0, display_name: 'Sites', keyname: 'sites', source: 'x.geojson' },
        { id: 2, cls: 'qgis_vector_style', parent: 1, display_name: 'Sites style', keyname: 'sites_style', qml: 'sites_graduated.qml' },
      ] }));
      const q = await startServer({ dataDir: dir, stylesDir: SAMPLE_STYLES });
      try {
        const res = await q.get('/api/resource/2/qml');
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type')!, /^application\/xml/);
        assert.equal(res.headers.get('content-disposition'), 'attachment; filename="sites_style.qml"');
        const xml = new XMLParser({ ignoreAttributes: false }).parse(await res.text());
        assert.ok(xml.qgis?.['renderer-v2'], 'a <qgis> document with a renderer');
        const style = await q.json('/api/resource/2');
        assert.deepEqual(style.body.qgis_vector_style, { file_name: 'sites_graduated.qml' });
      } finally { await q.stop(); }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  describe('opened by GDAL', () => {
    let ogrinfo = true;
    try { execFileSync('ogrinfo', ['--version']); } catch { ogrinfo = false; }
    const why = ogrinfo ? false : 'ogrinfo is not installed (Debian package gdal-bin; .ci/run installs it)';
    let dir: string;
    before(() => { dir = mkdtempSync(join(tmpdir(), 'meridian-ogr-')); });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const summary = (file: string, ...open: string[]) => {
      const out = execFileSync('ogrinfo', ['-so', '-al', ...open, file], { encoding: 'utf8' });
      return {
        count: Number(/Feature Count: (\d+)/.exec(out)?.[1]),
        fields: [...out.matchAll(/^(\w+): (\w+) \(\d/gm)].map((m) => `${m[1]}:${m[2]}`),
        geometry: /^Geometry: (.+)/m.exec(out)?.[1],
        geometryColumn: /^Geometry Column = (.+)/m.exec(out)?.[1],
        extent: /^Extent: (.+)/m.exec(out)?.[1],
      };
    };

    it('GeoJSON export: feature count, field names and types', { skip: why }, async () => {
      const file = join(dir, 'events.geojson');
      writeFileSync(file, Buffer.from(await (await s.get('/api/resource/7/geojson')).arrayBuffer()));
      assert.deepEqual(summary(file), {
        count: 3, geometry: 'Point', geometryColumn: undefined,
        extent: '(2.352200, 48.856600) - (37.617300, 55.755800)',
        fields: ['day:Date', 'starts:Time', 'stamp:DateTime', 'visitors:Integer64', 'rating:Real', 'title:String'],
      });
    });

    it('CSV export: feature count, field names, WKT geometry', { skip: why }, async () => {
      const file = join(dir, 'routes.csv');
      writeFileSync(file, Buffer.from(await (await s.get('/api/resource/6/csv')).arrayBuffer()));
      const info = summary(file, '-oo', 'GEOM_POSSIBLE_NAMES=geom', '-oo', 'KEEP_GEOM_COLUMNS=NO', '-oo', 'AUTODETECT_TYPE=YES');
      // GDAL's CSV driver does not scan for a geometry type; it finds the WKT column and its extent.
      assert.deepEqual(info, {
        count: 3, geometry: 'Unknown (any)', geometryColumn: 'geom', fields: ['route:String', 'lanes:Integer'],
        extent: '(13.405000, 45.000000) - (16.372500, 52.520000)',
      });
    });
  });
});
