// QGIS as a client of Meridian's tiles: QGIS Server 3.22 draws a project whose layers read them as
// QGIS reads any tile server (a vector tile layer on either MVT URL, an XYZ raster layer on the PNG
// render tiles). Its images must show the sample countries where the source GeoJSON has them and
// nothing elsewhere, and Meridian's request log must show that QGIS fetched the tiles it drew.
// Skips when QGIS Server is not installed (test/helpers/qgis-server.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bbox as bboxOf, booleanPointInPolygon, point } from '@turf/turf';
import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import pino from 'pino';
import { agreement, describeAgreement, rgbaOf } from './helpers/images.js';
import { PUBLIC_MONITOR, settledZone } from './helpers/monitor.js';
import { QGIS_SERVER_SKIP, startQgisServer, type QgisServer } from './helpers/qgis-server.js';
import { SAMPLE_DATA, startServer, type TestServer } from './helpers/server.js';

const R = 6378137;
const HALF = Math.PI * R;
const MAGENTA = [255, 0, 255];
const BLUE = [0, 0, 255];
/** Morocco, Western Sahara and the Atlantic west of them, the 30°N parallel across. */
const COAST = { bbox: [-2.5e6, 2.5e6, -1.0e6, 4.0e6], width: 768, height: 768 };
/** 2×2 z3 tiles (x 3–4, y 2–3), one image pixel per tile pixel. */
const Z3 = { bbox: [-HALF / 4, 0, HALF / 4, HALF / 2], width: 512, height: 512 };

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** An XYZ datasource as QGIS 3.22 writes it (QgsDataSourceUri::encodedUri: the URL's own {, }, & and = escaped). */
function xyzSource(url: string, zmax: number): string {
  const escaped = url.replace(/[{}&=]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `type=xyz&url=${escaped}&zmax=${zmax}&zmin=0`;
}

/** A basic vector tile renderer style: features of MVT layer `layer` drawn in `rgb`. */
function tileStyle(layer: string, kind: 'fill' | 'line', rgb: number[]): string {
  const colour = `${rgb.join(',')},255`;
  const options = kind === 'fill'
    ? { color: colour, style: 'solid', outline_style: 'no' }
    : { line_color: colour, line_style: 'solid', line_width: '0.8', line_width_unit: 'MM' };
  return `<style name="${xml(layer)}" layer="${xml(layer)}" geometry="${kind === 'fill' ? 2 : 1}" enabled="1" expression="" min-zoom="-1" max-zoom="-1">`
    + `<symbols><symbol name="0" type="${kind}" alpha="1" clip_to_extent="1" force_rhr="0">`
    + `<layer class="${kind === 'fill' ? 'SimpleFill' : 'SimpleLine'}" pass="0" locked="0" enabled="1"><Option type="Map">`
    + Object.entries(options).map(([k, v]) => `<Option name="${k}" type="QString" value="${v}"/>`).join('')
    + '</Option></layer></symbol></symbols></style>';
}

interface ProjectLayer { name: string; provider: 'vectortile' | 'wms'; source: string; body: string }

const vectorTileLayer = (name: string, url: string, styles: string[]): ProjectLayer =>
  ({ name, provider: 'vectortile', source: xyzSource(url, 14), body: `<renderer type="basic"><styles>${styles.join('')}</styles></renderer>` });

const xyzRasterLayer = (name: string, url: string): ProjectLayer => ({
  name, provider: 'wms', source: xyzSource(url, 18),
  body: '<pipe><rasterrenderer type="singlebandcolordata" band="1" alphaBand="-1" opacity="1"/></pipe>',
});

/** A project in EPSG:3857 with these layers, in the elements QGIS writes and reads. */
function project(layers: ProjectLayer[]): string {
  const crs = '<spatialrefsys><authid>EPSG:3857</authid></spatialrefsys>';
  return `<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version="3.22.16-Białowieża">`
    + `<projectCrs>${crs}</projectCrs><layer-tree-group>`
    + layers.map((l) => `<layer-tree-layer id="${l.name}" name="${l.name}" checked="Qt::Checked" providerKey="${l.provider}" source="${xml(l.source)}"/>`).join('')
    + '</layer-tree-group><projectlayers>'
    + layers.map((l) => `<maplayer type="${l.provider === 'wms' ? 'raster' : 'vector-tile'}"><id>${l.name}</id>`
      + `<datasource>${xml(l.source)}</datasource><layername>${l.name}</layername><srs>${crs}</srs>`
      + `<provider>${l.provider}</provider>${l.body}</maplayer>`).join('')
    + '</projectlayers></qgis>\n';
}

type Country = Feature<Polygon | MultiPolygon>;
const COUNTRIES = (JSON.parse(readFileSync(join(SAMPLE_DATA, 'countries110.geojson'), 'utf8')) as FeatureCollection<Polygon | MultiPolygon>)
  .features.map((f) => ({ feature: f as Country, bbox: bboxOf(f) }));

/** The index of the country at a point, or -1 at sea. */
function countryAt([lon, lat]: number[]): number {
  const p = point([lon, lat]);
  return COUNTRIES.findIndex((c) => lon >= c.bbox[0] && lon <= c.bbox[2] && lat >= c.bbox[1] && lat <= c.bbox[3] && booleanPointInPolygon(p, c.feature));
}

const lonOf = (x: number) => (x / HALF) * 180;
const latOf = (y: number) => (2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) * 180 / Math.PI;

interface Frame { bbox: number[]; width: number; height: number }

/**
 * Pixels of a grid over the frame that lie clearly inside one country or at sea: the source polygons
 * give the same answer `margin` pixels around them too, so neither simplification nor the antialiased
 * edges (coasts, and the seams between countries) can change their colour.
 */
function sureSamples(f: Frame, step = 12, margin = 4): { px: number; py: number; land: boolean; lonLat: string }[] {
  const [minx, , maxx, maxy] = f.bbox;
  const res = (maxx - minx) / f.width;
  const lonLat = (px: number, py: number) => [lonOf(minx + (px + 0.5) * res), latOf(maxy - (py + 0.5) * res)];
  const at = (px: number, py: number) => countryAt(lonLat(px, py));
  const samples = [];
  for (let py = step / 2; py < f.height; py += step) {
    for (let px = step / 2; px < f.width; px += step) {
      const country = at(px, py);
      const around = [-margin, 0, margin].flatMap((dx) => [-margin, 0, margin].map((dy) => at(px + dx, py + dy)));
      if (around.every((c) => c === country)) samples.push({ px, py, land: country >= 0, lonLat: lonLat(px, py).map((v) => v.toFixed(2)).join(',') });
    }
  }
  return samples;
}

const near = (rgba: Buffer, i: number, rgb: number[]) => rgba[i + 3] === 255 && rgb.every((v, c) => Math.abs(rgba[i + c] - v) <= 2);

/** Land samples drawn in `rgb`, sea samples left transparent, skipping rows `skip` says are another layer's. */
async function assertCountriesDrawn(png: Buffer, f: Frame, rgb: number[], skip = (_py: number) => false): Promise<void> {
  const rgba = await rgbaOf(png);
  const samples = sureSamples(f).filter((s) => !skip(s.py));
  const land = samples.filter((s) => s.land), sea = samples.filter((s) => !s.land);
  assert.ok(land.length > 100 && sea.length > 100, `enough samples (${land.length} on land, ${sea.length} at sea)`);
  const wrong = samples.filter((s) => {
    const i = 4 * (s.py * f.width + s.px);
    return s.land ? !near(rgba, i, rgb) : rgba[i + 3] !== 0;
  });
  assert.deepEqual(wrong.slice(0, 10).map((s) => `${s.land ? 'land' : 'sea'} at ${s.lonLat}`), [],
    `${wrong.length} of ${samples.length} samples drawn wrong`);
}

describe('QGIS as a client of Meridian\'s tiles', { skip: QGIS_SERVER_SKIP }, () => {
  let s: TestServer;
  let qgis: QgisServer;
  let map = '';
  const dir = mkdtempSync(join(tmpdir(), 'meridian-qgis-client-'));
  const logged: { msg: string; path?: string; status?: number; bytes?: number }[] = [];
  /** The requests Meridian has logged since `from` (an index into `logged`) for paths starting with `prefix`. */
  const requests = (from: number, prefix: string) => logged.slice(from).filter((l) => l.msg === 'request' && l.path!.startsWith(prefix));

  before(async () => {
    // no-cache: QGIS keeps the tiles it fetched but asks again with their ETags before each use.
    s = await startServer({
      env: { ...PUBLIC_MONITOR, MERIDIAN_TILE_CACHE_CONTROL: 'no-cache' },
      log: pino({ level: 'info' }, { write: (line: string) => { logged.push(JSON.parse(line)); } }),
    });
    qgis = await startQgisServer();
    map = join(dir, 'meridian.qgs');
    writeFileSync(map, project([
      vectorTileLayer('countries_mvt', `${s.url}/api/resource/2/{z}/{x}/{y}.mvt`, [tileStyle('ngw:2', 'fill', MAGENTA)]),
      vectorTileLayer('world_ngw', `${s.url}/api/component/feature_layer/mvt?resource=2,6&z={z}&x={x}&y={y}`,
        [tileStyle('ngw:2', 'fill', MAGENTA), tileStyle('ngw:6', 'line', BLUE)]),
      xyzRasterLayer('countries_png', `${s.url}/api/component/render/tile?z={z}&x={x}&y={y}&resource=4`),
    ]));
  });
  after(async () => { await qgis?.stop(); await s?.stop(); rmSync(dir, { recursive: true, force: true }); });

  /** QGIS Server's image of `layers` over the frame, once Meridian has logged every request of `zone` it answered meanwhile. */
  async function draw(layers: string, f: Frame, zone: 'tiles' | 'render' = 'tiles'): Promise<Buffer> {
    const png = await qgis.getMap({ map, layers, ...f });
    await settledZone(s, zone);
    return png;
  }

  it('single-layer MVT URL: countries drawn where they are, empty tiles (204) drawn as nothing', async () => {
    const from = logged.length;
    await assertCountriesDrawn(await draw('countries_mvt', COAST), COAST, MAGENTA);
    const answered = requests(from, '/api/resource/2/');
    assert.ok(answered.some((r) => r.status === 200) && answered.some((r) => r.status === 204), JSON.stringify(answered));
    assert.deepEqual(answered.filter((r) => r.status !== 200 && r.status !== 204), []);
    // QGIS (Qt) asks for gzip: the largest tile went compressed, in fewer bytes than the tile itself.
    const tile = answered.reduce((a, b) => (b.bytes! > a.bytes! ? b : a));
    const plain = await s.get(tile.path!, { headers: { 'accept-encoding': 'identity' } });
    assert.ok(tile.bytes! < (await plain.arrayBuffer()).byteLength, `${tile.path} sent gzipped`);
  });

  it('asked again, QGIS revalidates its tiles with their ETags: 304, the same image', async () => {
    const first = await rgbaOf(await draw('countries_mvt', COAST));
    const from = logged.length;
    const again = await rgbaOf(await draw('countries_mvt', COAST));
    const answered = requests(from, '/api/resource/2/');
    assert.ok(answered.some((r) => r.status === 304), JSON.stringify(answered));
    assert.deepEqual(answered.filter((r) => r.status !== 304 && r.status !== 204), []);
    assert.ok(first.equals(again), 'the same image from revalidated tiles');
  });

  it('NextGIS Web MVT URL with two resources: each MVT layer styled by its name', async () => {
    const from = logged.length;
    const png = await draw('world_ngw', COAST);
    const [minx, , maxx, maxy] = COAST.bbox;
    const row30 = Math.floor((maxy - Math.log(Math.tan(Math.PI / 4 + Math.PI / 12)) * R) / ((maxx - minx) / COAST.width));
    await assertCountriesDrawn(png, COAST, MAGENTA, (py) => Math.abs(py - row30) <= 8);
    // The 30°N parallel (resource 6) crosses the whole image in blue, land and sea alike.
    const rgba = await rgbaOf(png);
    const crossed = Array.from({ length: COAST.width }, (_, px) => px)
      .filter((px) => [-2, -1, 0, 1, 2].some((dy) => near(rgba, 4 * ((row30 + dy) * COAST.width + px), BLUE)));
    assert.ok(crossed.length >= COAST.width - 2, `the 30°N parallel drawn across ${crossed.length} of ${COAST.width} columns`);
    const answered = requests(from, '/api/component/feature_layer/mvt');
    assert.ok(answered.length > 0 && answered.every((r) => r.status === 200 || r.status === 204), JSON.stringify(answered));
  });

  it('XYZ raster layer on the render tiles: the same pixels as Meridian\'s own render of the extent', async () => {
    const from = logged.length;
    const theirs = await rgbaOf(await draw('countries_png', Z3, 'render'));
    const answered = requests(from, '/api/component/render/tile');
    assert.ok(answered.length >= 4 && answered.every((r) => r.status === 200), JSON.stringify(answered));
    const res = await s.get(`/api/component/render/image?resource=4&extent=${Z3.bbox.join(',')}&size=${Z3.width},${Z3.height}`);
    assert.equal(res.status, 200);
    const a = agreement(await rgbaOf(Buffer.from(await res.arrayBuffer())), theirs);
    assert.ok(a.referenceCovered > Z3.width * Z3.height / 10, 'QGIS drew the tiles');
    assert.ok(a.coverage >= 0.99 && a.colourError < 2, describeAgreement(a));
  });
});
