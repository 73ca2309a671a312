// GDAL's own NextGIS Web client (its NGW driver: ogrinfo, ogr2ogr, gdal_translate with
// NGW:http://…/resource/{id}) against the real server, and the feature API it relies on: the
// server's version (GDAL sends filters and pages only from NGW 3.1), fld_ filters, order_by,
// paging, extensions, and render tiles as GDAL 3.6 asks for them.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { likeMatcher } from '../src/store/attribute-filter.js';
import { ADMIN, authServer } from './helpers/auth.js';
import { rgbaOf } from './helpers/images.js';
import { writePointLayer } from './helpers/point-layer.js';
import { fixtureData, SAMPLE_DATA, startServer, tempData, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
let gdal = true;
try { execFileSync('ogrinfo', ['--version']); } catch { gdal = false; }
const noGdal = gdal ? false : 'ogrinfo is not installed (Debian package gdal-bin; .ci/run installs it)';

const countries = JSON.parse(readFileSync(join(SAMPLE_DATA, 'countries110.geojson'), 'utf8')).features as { properties: { name: string; code: string | null; band: number } }[];
/** Sample countries' fids (their place in the file, from 1) whose properties pass `test`. */
const fidsWhere = (test: (p: { name: string; code: string | null; band: number }) => boolean) =>
  countries.flatMap((f, i) => (test(f.properties) ? [i + 1] : []));

/** How many points the big layer has: more than the 10,000 a page of the feature list may hold. */
const BIG = 12_000;

describe('GDAL\'s NGW driver', { skip: noGdal }, () => {
  let s: TestServer;
  let dir: string;
  /** NGW:… for a resource of the server. */
  const ngw = (id: number) => `NGW:${s.url}/resource/${id}`;
  // GDAL's tile cache in a folder of the test's own, so no run sees another's tiles.
  const env = () => ({ ...process.env, GDAL_DEFAULT_WMS_CACHE_PATH: join(dir, 'wms-cache'), CPL_DEBUG: 'OFF' });
  const gdalTool = async (tool: string, ...args: string[]) => (await run(tool, args, { env: env(), maxBuffer: 64 * 1024 * 1024 })).stdout;
  /** The fids ogrinfo lists for the countries with these extra arguments. */
  const listed = async (...args: string[]) => {
    const out = await gdalTool('ogrinfo', '-ro', '-q', '-geom=NO', ngw(2), 'Countries', ...args);
    return [...out.matchAll(/^OGRFeature\(Countries\):(\d+)$/gm)].map((m) => Number(m[1]));
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-gdal-ngw-'));
    const catalog = JSON.parse(readFileSync(join(SAMPLE_DATA, 'catalog.json'), 'utf8'));
    catalog.resources.push({ id: 50, cls: 'vector_layer', parent: 8, display_name: 'Big', source: 'big.geojson' });
    const data = tempData({ copySample: true, catalog });
    await writePointLayer(join(data, 'big.geojson'), BIG);
    s = await startServer({ dataDir: data });
  });
  after(async () => {
    await s?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opens a layer without an error: the server\'s version says it pages and filters', async () => {
    const { stderr } = await run('ogrinfo', ['-ro', '-so', ngw(2), 'Countries'], { env: { ...env(), CPL_DEBUG: 'ON' } });
    assert.doesNotMatch(stderr, /ERROR/, 'no "HTTP error code : 404" for pkg_version');
    assert.match(stderr, /Is feature paging supported: yes/);
  });

  it('-where: the server filters, and ogrinfo lists what the source holds', async () => {
    assert.deepEqual(await listed('-where', "name = 'France'"), fidsWhere((p) => p.name === 'France'));
    assert.deepEqual(await listed('-where', 'band >= 3'), fidsWhere((p) => p.band >= 3));
    assert.deepEqual(await listed('-where', 'band > 2.5'), fidsWhere((p) => p.band > 2.5));
    assert.deepEqual(await listed('-where', "band <> 3 AND name LIKE 'S%'"), fidsWhere((p) => p.band !== 3 && p.name.startsWith('S')));
    assert.deepEqual(await listed('-where', "name ILIKE '%republic%'"), fidsWhere((p) => /republic/i.test(p.name)));
    // What GDAL cannot send (OR) it evaluates itself, over the whole layer.
    assert.deepEqual(await listed('-where', "name = 'France' OR name = 'Spain'"), fidsWhere((p) => p.name === 'France' || p.name === 'Spain'));
    const summary = await gdalTool('ogrinfo', '-ro', '-so', ngw(2), 'Countries', '-where', 'band = 2');
    assert.equal(Number(/Feature Count: (\d+)/.exec(summary)?.[1]), fidsWhere((p) => p.band === 2).length);
  });

  it('-spat: the server tests the box (in the layer\'s EPSG:3857), as the GeoJSON export\'s intersects does', async () => {
    const box = [-500_000, 5_000_000, 1_000_000, 6_500_000];
    const got = await listed('-spat', ...box.map(String));
    const [x0, y0, x1, y1] = box;
    const wkt = `POLYGON((${x0} ${y0},${x0} ${y1},${x1} ${y1},${x1} ${y0},${x0} ${y0}))`;
    const exported = await (await s.get(`/api/resource/2/geojson?srs=3857&intersects=${encodeURIComponent(wkt)}`)).json() as { features: { id: number }[] };
    assert.deepEqual(got, exported.features.map((f) => f.id));
    assert.ok(got.includes(fidsWhere((p) => p.name === 'France')[0]) && got.length < 20, `${got.length} countries near France`);
    // Both filters at once.
    assert.deepEqual(await listed('-spat', ...box.map(String), '-where', 'band = 3'), exported.features.map((f) => f.id).filter((fid) => countries[fid - 1].properties.band === 3));
  });

  it('ogr2ogr of the whole layer, page by page, gives the GeoJSON export\'s features', async () => {
    const out = join(dir, 'countries.geojson');
    await gdalTool('ogr2ogr', '-f', 'GeoJSON', '-t_srs', 'EPSG:4326', '-oo', 'PAGE_SIZE=50', out, ngw(2), 'Countries');
    const copied = JSON.parse(readFileSync(out, 'utf8')).features as any[];
    const exported = (await (await s.get('/api/resource/2/geojson')).json() as { features: any[] }).features;
    assert.equal(copied.length, 177);
    assert.deepEqual(copied.map((f) => f.properties), exported.map((f) => f.properties));
    // Through EPSG:3857 and back: the same vertices, within a micro-degree.
    const flat = (g: any): number[] => g.coordinates.flat(Infinity);
    for (let i = 0; i < copied.length; i++) {
      const [a, b] = [flat(copied[i].geometry), flat(exported[i].geometry)];
      assert.equal(a.length, b.length, `feature ${i + 1}`);
      const worst = Math.max(...a.map((v, k) => Math.abs(v - b[k])));
      assert.ok(worst < 1e-6, `feature ${i + 1}: ${worst}°`);
    }
  });

  it(`a layer of ${BIG} features comes whole, in one answer (no PAGE_SIZE) and page by page`, async () => {
    for (const open of [[], ['-oo', 'PAGE_SIZE=5000']]) {
      const out = join(dir, `big${open.length}.geojson`);
      await gdalTool('ogr2ogr', '-f', 'GeoJSON', ...open, out, ngw(50), 'Big');
      const features = JSON.parse(readFileSync(out, 'utf8')).features as { properties: { n: number } }[];
      assert.equal(features.length, BIG, open.join(' ') || 'one answer');
      assert.deepEqual(features.map((f) => f.properties.n), Array.from({ length: BIG }, (_, k) => k));
    }
  });

  it('-fid reads one feature; a group lists its layers; -select asks for those fields only', async () => {
    const france = fidsWhere((p) => p.name === 'France')[0];
    const one = await gdalTool('ogrinfo', '-ro', '-q', ngw(2), 'Countries', '-fid', String(france));
    assert.match(one, /name \(String\) = France/);
    assert.match(one, /MULTIPOLYGON \(\(\(/);
    const group = await gdalTool('ogrinfo', '-ro', '-q', ngw(1));
    assert.match(group, /1: Countries \(Multi Polygon\)/);
    assert.match(group, /2: Parallels/);
    const out = join(dir, 'names.geojson');
    await gdalTool('ogr2ogr', '-f', 'GeoJSON', '-select', 'name', '-where', 'band = 1', out, ngw(2), 'Countries');
    const features = JSON.parse(readFileSync(out, 'utf8')).features as { properties: object }[];
    assert.deepEqual(features.map((f) => f.properties), fidsWhere((p) => p.band === 1).map((fid) => ({ name: countries[fid - 1].properties.name })));
  });

  it('a style opens as a raster of tiles: France drawn, the sea around it left transparent', async () => {
    const info = await gdalTool('gdalinfo', ngw(3));
    assert.match(info, /Band 4 Block=256x256 Type=Byte, ColorInterp=Alpha/);
    const out = join(dir, 'france.png');
    // -2 to 4°E, 44 to 50°N in EPSG:3857, 64 px a side.
    await gdalTool('gdal_translate', '-of', 'PNG', '-projwin', '-222639', '6446276', '445278', '5465442', '-outsize', '64', '64', ngw(3), out);
    const rgba = await rgbaOf(out);
    const alpha = (lon: number, lat: number) => {
      const px = Math.floor((lon + 2) / 6 * 64), py = Math.floor((50 - lat) / 6 * 64 * 0.999);
      return rgba[(Math.min(py, 63) * 64 + px) * 4 + 3];
    };
    assert.equal(alpha(2.5, 46.5), 255, 'central France is drawn');
    assert.equal(alpha(-1.5, 45.5), 0, 'the Bay of Biscay is not');
  });

  it('writing is refused with a clear 405, not a 500', async () => {
    const { stderr } = await run('ogr2ogr', ['-f', 'NGW', `${ngw(1)}/newlayer`, join(SAMPLE_DATA, 'sites.geojson')], { env: env() }).catch((e) => e);
    assert.match(stderr, /POST is not allowed on \/api\/resource\//);
  });
});

describe('feature API filters, order_by and extensions (what GDAL sends)', () => {
  let s: TestServer;
  before(async () => { s = await startServer({ dataDir: fixtureData() }); });
  after(() => s.stop());

  /** The fids of the events (7: day DATE, starts TIME, stamp DATETIME, visitors BIGINT, rating REAL, title) a query lists. */
  const events = async (query: string) => {
    const { status, body } = await s.json(`/api/resource/7/feature/?geom=no&${query}`);
    assert.equal(status, 200, `${query}: ${JSON.stringify(body)}`);
    return (body as { id: number }[]).map((f) => f.id);
  };

  it('pkg_version: a NextGIS Web version GDAL 3.6 reads as 3.1 or later', async () => {
    const { body } = await s.json('/api/component/pyramid/pkg_version');
    const [major, minor, patch] = String(body.nextgisweb).split('.').map(Number);
    assert.ok(major >= 3 && minor >= 1 && patch >= 0, body.nextgisweb);
    assert.equal(typeof body.meridian, 'string');
  });

  it('each operator, on each field type; a null passes no comparison, isnull alone', async () => {
    assert.deepEqual(await events('fld_title=Parade'), [1]);
    assert.deepEqual(await events('fld_title__ne=Parade'), [2, 3]);
    assert.deepEqual(await events('fld_rating__ne=4.5'), [2], 'the null rating is not "not 4.5"');
    assert.deepEqual(await events('fld_rating__isnull=yes'), [3]);
    assert.deepEqual(await events('fld_rating__isnull=no'), [1, 2]);
    assert.deepEqual(await events('fld_visitors__eq=5000000000'), [1]);
    assert.deepEqual(await events('fld_visitors__lt=100'), [2]);
    assert.deepEqual(await events('fld_rating__gte=3.25&fld_rating__le=4'), [2]);
    assert.deepEqual(await events('fld_day__lt=2024-01-01'), [2]);
    assert.deepEqual(await events('fld_day__ge=2024/05/01'), [1], 'GDAL\'s date spelling');
    assert.deepEqual(await events('fld_stamp__gt=2024-05-01'), [1], 'a date alone is its midnight');
    assert.deepEqual(await events(`fld_stamp__lt=${encodeURIComponent('2023-12-31 23:59:59')}`), []);
    assert.deepEqual(await events('fld_starts__le=14:00'), [1]);
    assert.deepEqual(await events('fld_title__in=Parade,Fireworks'), [1, 2]);
    assert.deepEqual(await events('fld_title__notin=Parade'), [2, 3]);
    assert.deepEqual(await events('fld_title__like=F%25s'), [2]);
    assert.deepEqual(await events('fld_title__like=f%25'), [], 'like tells case');
    assert.deepEqual(await events('fld_title__ilike=%25FIRE%25'), [2]);
    assert.deepEqual(await events('fld_title__like=P_rade'), [1]);
    assert.deepEqual(await events('id__gt=1'), [2, 3]);
    assert.deepEqual(await events('id=2'), [2]);
    assert.deepEqual(await events('id__in=1,3&fld_title__ne=Parade'), [3]);
  });

  it('like= and ilike= search every field for the text (%text%, as NGW); like wins over ilike', async () => {
    assert.deepEqual(await events('like=Fire'), [2]);
    assert.deepEqual(await events('like=fire'), [], 'like tells case');
    assert.deepEqual(await events('ilike=fire'), [2]);
    assert.deepEqual(await events('like=4.5'), [1], 'a REAL, as text');
    assert.deepEqual(await events('like=5000000000'), [1], 'a BIGINT, as text');
    assert.deepEqual(await events('like=12-31T23'), [2], 'a DATETIME, as the ISO text the list shows');
    assert.deepEqual(await events('like=r_d'), [1], '_ keeps its meaning');
    assert.deepEqual(await events('like='), [1, 2, 3], 'a feature with any value');
    assert.deepEqual(await events('like=Fire&ilike=PARADE'), [2]);
    assert.deepEqual(await events('ilike=kno&fld_rating__isnull=yes'), [3], 'and with the other filters');
  });

  it('order_by: descending with "-", nulls last ascending and first descending, fid breaking ties; paged after', async () => {
    assert.deepEqual(await events('order_by=rating'), [2, 1, 3]);
    assert.deepEqual(await events('order_by=-rating'), [3, 1, 2]);
    assert.deepEqual(await events('order_by=%2Btitle'), [2, 3, 1]);
    assert.deepEqual(await events('order_by=-title&limit=1&offset=1'), [3]);
    assert.deepEqual(await events('fld_rating__isnull=no&order_by=-day'), [1, 2]);
  });

  it('extensions: every one unless named; GDAL\'s empty extensions= asks for none', async () => {
    assert.deepEqual((await s.json('/api/resource/7/feature/?limit=1')).body[0].extensions, { description: null, attachment: null });
    assert.deepEqual((await s.json('/api/resource/7/feature/?limit=1&extensions=')).body[0].extensions, {});
    assert.deepEqual((await s.json('/api/resource/7/feature/1?extensions=attachment,unknown')).body.extensions, { attachment: null });
  });

  it('bad filters are 400 INVALID_PARAMETER naming the parameter', async () => {
    const cases: [string, string, RegExp][] = [
      ['fld_nope=1', 'fld_nope', /names no field/],
      ['fld_rating__between=1', 'fld_rating__between', /unknown operator "between"/],
      ['fld_rating=high', 'fld_rating', /must be a number/],
      ['fld_visitors__in=1,x', 'fld_visitors__in', /must be a number/],
      ['fld_day=2024-13', 'fld_day', /must be a date/],
      ['fld_starts=noon', 'fld_starts', /must be a time/],
      ['fld_rating__like=4%25', 'fld_rating__like', /text fields only/],
      ['fld_title__isnull=maybe', 'fld_title__isnull', /yes or no/],
      ['id=first', 'id', /must be a number/],
      ['id__like=1', 'id__like', /text fields only/],
      ['order_by=-nope', 'order_by', /names no field/],
      ['fld_title=a%00b', 'fld_title', /NUL/],
      ['like=a%00', 'like', /NUL/],
    ];
    for (const [query, param, problem] of cases) {
      const { status, body } = await s.json(`/api/resource/7/feature/?${query}`);
      assert.equal(status, 400, query);
      assert.equal(body.code, 'INVALID_PARAMETER', query);
      assert.ok(body.message.includes(`"${param}"`) && problem.test(body.message), `${query}: ${body.message}`);
    }
  });

  it('a LIKE pattern of many % against a long value is answered at once (no backtracking)', () => {
    const started = performance.now();
    assert.equal(likeMatcher(`${'%a'.repeat(40)}%b`, false)('a'.repeat(20_000)), false);
    assert.equal(likeMatcher('%a%b_', true)('xxAyyBz'), true);
    assert.equal(likeMatcher('100\\%', false)('100%'), true);
    assert.equal(likeMatcher('100\\%', false)('1000'), false);
    assert.equal(likeMatcher('C:\\', false)('C:\\'), true, 'a backslash that ends the pattern stands for itself');
    assert.equal(likeMatcher('%οσ', true)('ΟΔΟΣ'), true, 'a final Σ folds as any other (code point by code point, as PostgreSQL)');
    assert.equal(likeMatcher('istanbul', true)('İstanbul'), true, 'İ folds to one i');
    assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
  });

  it('a long run of a LIKE pattern between % is found in one pass of a long value, not tried at every place', () => {
    // like=x…xz searches %x…xz%: 8,000 code points tried at each of 12,000 places took 0.8 s a value.
    const search = likeMatcher(`%${'x'.repeat(8000)}z%`, false);
    const started = performance.now();
    for (let k = 0; k < 10; k++) assert.equal(search('x'.repeat(20_000)), false);
    assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms for 10 values`);
    assert.equal(search(`${'x'.repeat(9000)}z`), true);
    // Runs longer than 32 code points (more than one word of bits), with _, placed in order.
    const run = 'ab'.repeat(20);
    assert.equal(likeMatcher(`%${run}_c%d`, false)(`zz${run}xcyyd`), true);
    assert.equal(likeMatcher(`%${run}_c%d`, false)(`zz${run}cyyd`), false);
    assert.equal(likeMatcher(`%b%${run}%`, false)(run), false, 'the second run begins after the first');
    assert.equal(likeMatcher(`a%${run}`, true)(`A${run.toUpperCase()}`), true, 'the last run held to the end');
    assert.equal(likeMatcher(`${run}%${run}`, false)(run), false, 'the first and last runs do not overlap');
  });

  it('a render tile whose parameters GDAL 3.6 separates with "&amp;" is the same tile', async () => {
    const sample = await startServer();
    try {
      const plain = await sample.get('/api/component/render/tile?z=1&x=1&y=0&resource=3');
      const escaped = await sample.get('/api/component/render/tile?z=1&amp;x=1&amp;y=0&amp;resource=3');
      assert.equal(escaped.status, 200);
      assert.deepEqual(Buffer.from(await escaped.arrayBuffer()), Buffer.from(await plain.arrayBuffer()));
    } finally { await sample.stop(); }
  });
});

describe('feature filters and permissions', () => {
  let s: TestServer;
  const rule = (action: string, keyname: string, scope: string, permission: string) => ({ action, principal: { keyname }, scope, permission, propagate: true });
  before(async () => {
    const catalog = JSON.parse(readFileSync(join(SAMPLE_DATA, 'catalog.json'), 'utf8'));
    s = await authServer({ catalog: { ...catalog, permissions: [rule('allow', 'everyone', 'resource', 'read')] } });
  });
  after(() => s.stop());

  it('a guest without data.read gets the same 401 whatever a filter asks, so values cannot be probed', async () => {
    const messages = new Set<string>();
    for (const query of ['fld_name=France', 'fld_name=Nowhere', 'fld_nope=1', 'order_by=name', 'fld_band__gt=x']) {
      const { status, body } = await s.json(`/api/resource/2/feature/?${query}`);
      assert.equal(status, 401, query);
      messages.add(`${body.code}: ${body.message}`);
    }
    assert.equal(messages.size, 1, [...messages].join('; '));
    const admin = await s.json('/api/resource/2/feature/?fld_name=France&geom=no', { headers: ADMIN });
    assert.deepEqual(admin.body.map((f: { fields: { name: string } }) => f.fields.name), ['France']);
  });
});
