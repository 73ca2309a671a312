// Rendered PNGs, decoded with sharp: colours per feature and per rule, stroke, transparency,
// marker sizes, composition order, QGIS reference renders, validation, caching and permissions.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import sharp from 'sharp';
import { agreement, describeAgreement, rgbaOf } from './helpers/images.js';
import { SAMPLE_DATA, QGIS_FIXTURES, startServer, tempData, type TestServer } from './helpers/server.js';

const R = 6378137;
const mx = (lon: number) => lon * Math.PI / 180 * R;
const my = (lat: number) => Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360)) * R;
const lonOf = (x: number) => x / R * 180 / Math.PI;
const latOf = (y: number) => Math.atan(Math.sinh(y / R)) * 180 / Math.PI;

interface Pixels { data: Buffer; width: number; height: number; at(x: number, y: number): number[] }

async function decode(res: Response): Promise<Pixels> {
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'image/png');
  return pixels(Buffer.from(await res.arrayBuffer()));
}

async function pixels(png: Buffer | string): Promise<Pixels> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, at: (x, y) => [...data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 4)] };
}

/** A 1×1 image of one kilometre around a point: the colour drawn there. */
async function colourAt(s: TestServer, resource: string, lon: number, lat: number): Promise<number[]> {
  const x = mx(lon), y = my(lat);
  const res = await s.get(`/api/component/render/image?extent=${x - 500},${y - 500},${x + 500},${y + 500}&size=1,1&resource=${resource}`);
  return (await decode(res)).at(0, 0);
}

function close(actual: number[], expected: readonly number[], tolerance = 3): void {
  assert.ok(actual.every((v, i) => Math.abs(v - expected[i]) <= tolerance), `${actual} is not close to ${expected}`);
}

// A point well inside each country (picked by hand) and its band from the data.
const INSIDE: Record<string, [number, number]> = {
  Russia: [100, 62], Brazil: [-50, -10], Kazakhstan: [67, 48], 'Dem. Rep. Congo': [23, -3],
  Algeria: [3, 28], Australia: [134, -25], France: [2.5, 46.5],
};
const countries = JSON.parse(readFileSync(join(SAMPLE_DATA, 'countries110.geojson'), 'utf8')).features;
const inside = (name: string) => ({
  band: countries.find((c: any) => c.properties.name === name).properties.band as number,
  point: INSIDE[name],
});

// Colours as QGIS wrote them in the QML files (styles/*.qml).
const BAND_COLOURS = [[141, 211, 199, 255], [255, 255, 179, 255], [190, 186, 218, 255], [251, 128, 114, 255], [128, 177, 211, 255]];
const SINGLE_FILL = [190, 207, 80, 255];
const LINE_RED = [255, 0, 0, 255];

describe('render API on the sample data', () => {
  let s: TestServer;
  before(async () => { s = await startServer(); });
  after(() => s.stop());

  it('fills each country with its category colour (categorized QML)', async () => {
    for (const name of ['Russia', 'Brazil', 'Kazakhstan', 'Dem. Rep. Congo', 'Algeria', 'Australia']) {
      const { band, point } = inside(name);
      close(await colourAt(s, '3', ...point), BAND_COLOURS[band]);
    }
  });

  it('colours features by rule, with the ELSE rule taking the rest (rule-based QML)', async () => {
    close(await colourAt(s, '5', ...inside('France').point), [0, 0, 200, 255]);
    close(await colourAt(s, '5', ...inside('Brazil').point), [200, 60, 60, 255]);
    close(await colourAt(s, '5', ...inside('Algeria').point), [220, 220, 220, 255]);
    close(await colourAt(s, '5', ...inside('Kazakhstan').point), [220, 220, 220, 255]);
  });

  it('draws graduated markers with the colour and pixel size of their range', async () => {
    const sites = JSON.parse(readFileSync(join(SAMPLE_DATA, 'sites.geojson'), 'utf8')).features;
    const low = sites.find((f: any) => f.properties.score < 50);
    const high = sites.find((f: any) => f.properties.score >= 50);
    // circle 2.5 mm and square 4 mm at 96 DPI, plus QGIS's one-pixel hairline outline
    for (const [site, colour, mm] of [[low, [44, 123, 182, 255], 2.5], [high, [215, 25, 28, 255], 4]] as const) {
      const [lon, lat] = site.geometry.coordinates;
      const res = 100; // metres per pixel
      const x = mx(lon), y = my(lat);
      const img = await decode(await s.get(`/api/component/render/image?extent=${x - 32 * res},${y - 32 * res},${x + 32 * res},${y + 32 * res}&size=64,64&resource=10`));
      close(img.at(32, 32), colour);
      let covered = 0;
      for (let px = 0; px < 64; px++) if (img.at(px, 32)[3] >= 128) covered++;
      const expected = mm * 96 / 25.4 + 1;
      assert.ok(Math.abs(covered - expected) <= 1, `marker is ${covered} px wide, expected ${expected.toFixed(1)}`);
      assert.equal(img.at(2, 2)[3], 0);
    }
  });

  it('composites styles lower to upper', async () => {
    // The equator over the Congo basin: the line style above the fill, then the other way round.
    const lineOnTop = await colourAt(s, '4,7', 20, 0);
    close(lineOnTop, LINE_RED);
    const fillOnTop = await colourAt(s, '7,4', 20, 0);
    close(fillOnTop, SINGLE_FILL);
  });

  it('answers an empty tile with the shared transparent PNG, or 204 when asked', async () => {
    const a = await s.get('/api/component/render/tile?z=6&x=2&y=40&resource=4');
    const b = await s.get('/resource/3/tms?z=6&x=3&y=41');
    const bodyA = Buffer.from(await a.arrayBuffer()), bodyB = Buffer.from(await b.arrayBuffer());
    assert.deepEqual(bodyA, bodyB);
    const img = await pixels(bodyA);
    assert.equal(img.width, 256);
    assert.ok(img.data.every((v, i) => i % 4 !== 3 || v === 0));
    const none = await s.get('/api/component/render/tile?z=6&x=2&y=40&resource=4&nd=204');
    assert.equal(none.status, 204);
  });

  it('answers an image of nothing as a transparent PNG of its size, small whatever the size', async () => {
    for (const [w, h] of [[4096, 4096], [13, 7]]) {
      const res = await s.get(`/api/component/render/image?extent=0,0,1,1&size=${w},${h}&resource=4`);
      assert.deepEqual([res.status, res.headers.get('content-type')], [200, 'image/png']);
      const body = Buffer.from(await res.arrayBuffer());
      assert.ok(body.length < 4096, `${w}×${h}: ${body.length} bytes`);
      const img = await pixels(body);
      assert.deepEqual([img.width, img.height], [w, h]);
      assert.ok(img.data.every((v, i) => i % 4 !== 3 || v === 0), `${w}×${h}: every pixel transparent`);
    }
  });

  it('sends ETag and Cache-Control, and 304 for a matching If-None-Match', async () => {
    const path = '/api/component/render/tile?z=2&x=2&y=1&resource=3';
    const first = await s.get(path);
    const etag = first.headers.get('etag');
    assert.ok(etag);
    assert.equal(first.headers.get('cache-control'), s.services.config.tileCacheControl);
    const again = await s.get(path, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    const repeat = await s.get(path);
    assert.equal(repeat.headers.get('x-tile-cache'), 'hit');
    assert.equal(repeat.headers.get('etag'), etag);
    const other = await s.get('/api/component/render/tile?z=2&x=2&y=1&resource=4', { headers: { 'If-None-Match': etag } });
    assert.equal(other.status, 200);
  });

  it('rejects bad parameters with a 400 naming the parameter', async () => {
    const cases: [string, string][] = [
      ['/api/component/render/tile?x=0&y=0&resource=4', 'z'],
      ['/api/component/render/tile?z=1&x=2&y=0&resource=4', 'x'],
      ['/api/component/render/tile?z=1&x=0&y=-1&resource=4', 'y'],
      ['/api/component/render/tile?z=99&x=0&y=0&resource=4', 'z'],
      ['/api/component/render/tile?z=0&x=0&y=0', 'resource'],
      ['/api/component/render/tile?z=0&x=0&y=0&resource=4,x', 'resource'],
      ['/api/component/render/tile?z=0&x=0&y=0&resource=4&nd=500', 'nd'],
      ['/api/component/render/image?extent=0,0,1,1&size=4097,10&resource=4', 'size'],
      ['/api/component/render/image?extent=0,0,1&size=10,10&resource=4', 'extent'],
      ['/api/component/render/image?extent=1,0,0,1&size=10,10&resource=4', 'extent'],
      ['/api/component/render/image?extent=0,0,1,1&size=0,10&resource=4', 'size'],
      ['/api/component/render/image?extent=0,0,1,1&size=0x10,0x10&resource=4', 'size'],
      ['/api/component/render/image?extent=0,0,Infinity,1&size=10,10&resource=4', 'extent'],
      ['/resource/abc/tms?z=0&x=0&y=0', 'id'],
      // Each style once, at most 64: the work of one request stays bounded.
      ['/api/component/render/tile?z=0&x=0&y=0&resource=4,4', 'resource'],
      [`/api/component/render/image?extent=0,0,1,1&size=10,10&resource=${Array(65).fill(4).join(',')}`, 'resource'],
    ];
    for (const [path, name] of cases) {
      const { status, body } = await s.json(path);
      assert.equal(status, 400, path);
      assert.equal(body.code, 'INVALID_PARAMETER');
      assert.match(body.message, new RegExp(`"${name}"`), path);
    }
  });

  it('refuses resources that are not styles, and unknown ones', async () => {
    const notStyle = await s.json('/api/component/render/tile?z=0&x=0&y=0&resource=2');
    assert.equal(notStyle.status, 422);
    assert.equal(notStyle.body.code, 'NOT_A_STYLE');
    const unknown = await s.json('/api/component/render/tile?z=0&x=0&y=0&resource=4,999');
    assert.equal(unknown.status, 404);
  });
});

describe('render API permissions', () => {
  let s: TestServer;
  before(async () => {
    // The countries layer (2) denies data.read to guests; its styles themselves do not.
    const dir = tempData({ copySample: true });
    const catalog = JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8'));
    catalog.resources.find((r: any) => r.id === 2).permissions = [
      { action: 'deny', principal: { keyname: 'guest' }, identity: '', scope: 'data', permission: 'read', propagate: false },
    ];
    writeFileSync(join(dir, 'catalog.json'), JSON.stringify(catalog));
    s = await startServer({ dataDir: dir });
  });
  after(() => s?.stop());

  it('does not show a layer through its style when the layer is denied', async () => {
    for (const path of ['/api/component/render/tile?z=0&x=0&y=0&resource=7,4', '/resource/4/tms?z=0&x=0&y=0',
      '/api/component/render/image?extent=0,0,1000000,1000000&size=10,10&resource=3']) {
      const { status, body } = await s.json(path);
      assert.ok(status === 401 || status === 403, `${path}: ${status}`);
      assert.ok(body.code, path);
    }
    const lines = await s.get('/api/component/render/tile?z=0&x=0&y=0&resource=7');
    assert.equal(lines.status, 200);
  });
});

describe('render API over a known square', () => {
  // A square whose edges fall on pixel centres of the image below (1 km per pixel): x, y 64.5–191.5.
  const at = (px: number) => px * 1000;
  const square = [[64.5, 64.5], [191.5, 64.5], [191.5, 191.5], [64.5, 191.5], [64.5, 64.5]]
    .map(([x, y]) => [lonOf(at(x)), latOf(at(256 - y))]);
  let s: TestServer;
  before(async () => {
    const dir = tempData({
      catalog: {
        resources: [
          { id: 1, cls: 'vector_layer', parent: 0, display_name: 'Square', source: 'square.geojson' },
          { id: 2, cls: 'qgis_vector_style', parent: 1, display_name: 'QGIS single fill', qml: 'countries110_single.qml' },
          { id: 3, cls: 'qgis_vector_style', parent: 1, display_name: 'JSON', style: { fill: '#3366ccff', stroke: { color: '#000000', width: 4, unit: 'Pixel' } } },
        ],
      },
    });
    writeFileSync(join(dir, 'square.geojson'), JSON.stringify({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: { name: 'square' }, geometry: { type: 'Polygon', coordinates: [square] } }],
    }));
    s = await startServer({ dataDir: dir, stylesDir: join(QGIS_FIXTURES, 'styles') });
  });
  after(() => s?.stop());

  const image = async (resource: string) =>
    decode(await s.get(`/api/component/render/image?extent=0,0,256000,256000&size=256,256&resource=${resource}`));

  it('fills inside, strokes the edge and leaves the outside transparent (QGIS-written QML)', async () => {
    const img = await image('2');
    assert.deepEqual(img.at(128, 128), SINGLE_FILL);
    assert.deepEqual(img.at(66, 128), SINGLE_FILL);
    // 0.26 mm at 96 DPI is 0.98 px, centred on the pixel the edge runs through.
    close(img.at(64, 128), [60, 60, 60, 250], 6);
    close(img.at(128, 191), [60, 60, 60, 250], 6);
    assert.equal(img.at(62, 128)[3], 0);
    assert.equal(img.at(10, 10)[3], 0);
    assert.equal(img.at(250, 250)[3], 0);
  });

  it('draws a JSON style: fill and a stroke in pixels', async () => {
    const img = await image('3');
    assert.deepEqual(img.at(128, 128), [51, 102, 204, 255]);
    assert.deepEqual(img.at(64, 128), [0, 0, 0, 255]);
    assert.deepEqual(img.at(65, 128), [0, 0, 0, 255]);
    assert.equal(img.at(61, 128)[3], 0);
  });
});

describe('agreement with QGIS reference renders', () => {
  // Styles of the sample catalog by QML name.
  const STYLE_IDS: Record<string, number> = { countries110_categorized: 3, countries110_single: 4, countries110_rules: 5, parallels_line: 7, sites_graduated: 10 };
  let s: TestServer;
  before(async () => { s = await startServer({ stylesDir: join(QGIS_FIXTURES, 'styles') }); });
  after(() => s?.stop());

  for (const file of readdirSync(join(QGIS_FIXTURES, 'renders'))) {
    const [, style, z, x, y] = /^(.+)_(\d+)_(\d+)_(\d+)\.png$/.exec(file)!;
    it(`covers the pixels QGIS covers, in its colours: ${file}`, async () => {
      const mine = await decode(await s.get(`/api/component/render/tile?z=${z}&x=${x}&y=${y}&resource=${STYLE_IDS[style]}`));
      const a = agreement(mine.data, await rgbaOf(join(QGIS_FIXTURES, 'renders', file)));
      assert.ok(a.referenceCovered > 0, 'QGIS drew something');
      assert.ok(a.coverage >= 0.95 && a.colourError < 4, describeAgreement(a));
    });
  }
});

describe('QGIS rule filters and unsupported parts', () => {
  // QML written by QGIS, with its rule filters replaced by the expressions under test.
  const rulesQml = () => readFileSync(join(QGIS_FIXTURES, 'styles', 'countries110_rules.qml'), 'utf8');
  const withFilters = (qml: string, filters: string[]) => {
    let k = 0;
    return qml.replace(/filter="[^"]*"/g, () => `filter="${filters[k++].replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}"`);
  };
  let s: TestServer;
  const logged: any[] = [];
  before(async () => {
    const styles = tempData();
    const qml = rulesQml();
    writeFileSync(join(styles, 'in_like.qml'), withFilters(qml, [`"name" IN ('Brazil', 'Algeria') AND NOT "band" IS NULL`, `"name" LIKE 'Kaz%' OR "code" = '643'`, 'ELSE']));
    writeFileSync(join(styles, 'compare.qml'), withFilters(qml, [`"band" <> 2 AND "band" < 4`, `lower("name") = 'australia'`, 'ELSE']));
    // A fill style QGIS can draw but Meridian cannot (hatching), and a symbol layer class it does not know.
    writeFileSync(join(styles, 'partly.qml'), qml.replace(/k="style" v="solid"/, 'k="style" v="b_diagonal"').replace('class="SimpleFill"', 'class="GradientFill"'));
    writeFileSync(join(styles, 'broken.qml'), '<qgis><nothing/></qgis>');
    const single = readFileSync(join(QGIS_FIXTURES, 'styles', 'countries110_single.qml'), 'utf8');
    // Visible from 1:50,000,000 inwards only; and drawn at half opacity.
    writeFileSync(join(styles, 'scaled.qml'), single.replace('hasScaleBasedVisibilityFlag="0"', 'hasScaleBasedVisibilityFlag="1"').replace(/minScale="[^"]*"/, 'minScale="50000000"'));
    writeFileSync(join(styles, 'half.qml'), single.replace('<layerOpacity>1</layerOpacity>', '<layerOpacity>0.5</layerOpacity>'));
    const style = (id: number, qml: string) => ({ id, cls: 'qgis_vector_style', parent: 2, display_name: qml, qml });
    const dir = tempData({ copySample: true });
    const catalog = JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8'));
    catalog.resources.push(style(20, 'in_like.qml'), style(21, 'compare.qml'), style(22, 'partly.qml'), style(23, 'broken.qml'),
      style(24, 'scaled.qml'), style(25, 'half.qml'));
    writeFileSync(join(dir, 'catalog.json'), JSON.stringify(catalog));
    const log = pino({ level: 'warn' }, { write: (line: string) => { logged.push(JSON.parse(line)); } });
    s = await startServer({ dataDir: dir, stylesDir: styles, log });
  });
  after(() => s?.stop());

  const RED = [200, 60, 60, 255], BLUE = [0, 0, 200, 255], GREY = [220, 220, 220, 255];

  it('applies IN, LIKE, OR, AND, NOT, IS NULL and ELSE', async () => {
    close(await colourAt(s, '20', ...inside('Brazil').point), RED);
    close(await colourAt(s, '20', ...inside('Algeria').point), RED);
    close(await colourAt(s, '20', ...inside('Kazakhstan').point), BLUE);
    close(await colourAt(s, '20', ...inside('Russia').point), BLUE);
    close(await colourAt(s, '20', ...inside('France').point), GREY);
  });

  it('applies <>, < and functions', async () => {
    close(await colourAt(s, '21', ...inside('Russia').point), RED); // band 3
    close(await colourAt(s, '21', ...inside('Brazil').point), GREY); // band 4
    close(await colourAt(s, '21', ...inside('Australia').point), BLUE); // band 2, by name
  });

  it('draws what it understands and logs the rest once per style', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await s.get(`/api/component/render/tile?z=1&x=${i % 2}&y=0&resource=22`);
      assert.equal(res.status, 200);
    }
    // The first rule's fill is gone (unknown class); the other rules still draw.
    close(await colourAt(s, '22', ...inside('France').point), BLUE);
    const reports = logged.filter((l) => l.resource === 22);
    assert.equal(reports.length, 1);
    assert.ok(reports[0].unsupported.some((u: string) => u.includes('GradientFill')));
  });

  it('honours the layer scale range and layer opacity', async () => {
    // Tiles over Russia (100°E 62°N): zoom 3 is at about 1:74,000,000, zoom 4 at 1:37,000,000.
    const tile = (z: number) => {
      const n = 2 ** z;
      return `z=${z}&x=${Math.floor((100 + 180) / 360 * n)}&y=${Math.floor((1 - my(62) / (Math.PI * R)) / 2 * n)}`;
    };
    const far = await decode(await s.get(`/api/component/render/tile?${tile(3)}&resource=24`));
    assert.ok(far.data.every((v, i) => i % 4 !== 3 || v === 0), 'nothing drawn beyond the scale range');
    const near = await decode(await s.get(`/api/component/render/tile?${tile(4)}&resource=24`));
    assert.ok(near.data.some((v, i) => i % 4 === 3 && v === 255), 'drawn within the scale range');
    close(await colourAt(s, '25', ...inside('Russia').point), [190, 207, 80, 128], 2);
  });

  it('answers 503 for a style file that is not a QGIS style', async () => {
    const { status, body } = await s.json('/api/component/render/tile?z=0&x=0&y=0&resource=23');
    assert.equal(status, 503);
    assert.equal(body.code, 'STYLE_UNAVAILABLE');
  });
});
