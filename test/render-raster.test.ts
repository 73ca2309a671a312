// Raster layers through the render API: GeoTIFFs written here (geotiff's writer; GDAL for tiled
// files with overviews), decoded PNG pixels checked for colours, ramps, nodata, placement in
// EPSG:3857 and EPSG:4326, composition with vector styles and use of overviews.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeArrayBuffer } from 'geotiff';
import sharp from 'sharp';
import { rasterInfo, renderRaster } from '../src/render/raster.js';
import { startServer, tempData, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

const R = 6378137;
const mx = (lon: number) => lon * Math.PI / 180 * R;
const my = (lat: number) => Math.log(Math.tan(Math.PI / 4 + lat * Math.PI / 360)) * R;
const lonOf = (x: number) => x / R * 180 / Math.PI;
const latOf = (y: number) => Math.atan(Math.sinh(y / R)) * 180 / Math.PI;

/** A GeoTIFF of width × height pixels, top-left corner at (x0, y0), `size` units per pixel. */
function geotiff(values: Uint8Array, o: { width: number; height: number; bands: number; x0: number; y0: number; size: number; srs: 3857 | 4326; nodata?: number }): Buffer {
  const crs = o.srs === 3857 ? { GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 3857 } : { GTModelTypeGeoKey: 2, GeographicTypeGeoKey: 4326 };
  return Buffer.from(writeArrayBuffer(values, {
    width: o.width, height: o.height, SamplesPerPixel: o.bands, BitsPerSample: new Array(o.bands).fill(8),
    PhotometricInterpretation: o.bands === 1 ? 1 : 2, PlanarConfiguration: 1, GTRasterTypeGeoKey: 1,
    ModelPixelScale: [o.size, o.size, 0], ModelTiepoint: [0, 0, 0, o.x0, o.y0, 0],
    ...(o.nodata !== undefined ? { GDAL_NODATA: `${o.nodata}\0` } : {}), ...crs,
  } as any));
}

/** A PNG decoded: its size, RGBA bytes, and the RGBA of pixel (x, y). */
async function decoded(png: Buffer) {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data, at: (x: number, y: number) => [...data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 4)] };
}

async function image(s: TestServer, extent: number[], size: number[], resource: string) {
  const res = await s.get(`/api/component/render/image?extent=${extent.join(',')}&size=${size.join(',')}&resource=${resource}`);
  assert.equal(res.status, 200, await res.clone().text());
  return decoded(Buffer.from(await res.arrayBuffer()));
}

/**
 * Descriptors open in this process on `file`, or on what was at its path before it was replaced or
 * deleted: the server and its pool workers run in this process, so their open files are ours.
 */
function openFiles(file: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target === file || target === `${file} (deleted)` ? [target] : [];
    } catch { return []; }
  });
}

/** The colour drawn within a kilometre of a point. */
async function colourAt(s: TestServer, resource: string, lon: number, lat: number): Promise<number[]> {
  const x = mx(lon), y = my(lat);
  return (await image(s, [x - 500, y - 500, x + 500, y + 500], [1, 1], resource)).at(0, 0);
}

describe('raster layers', () => {
  let s: TestServer, dir: string;
  const hasGdal = spawnSync('sh', ['-c', 'command -v gdal_translate && command -v gdaladdo']).status === 0;
  before(async () => {
    dir = tempData({
      catalog: {
        resources: [
          { id: 1, cls: 'raster_layer', parent: 0, display_name: 'RGB 3857', source: 'rgb.tif' },
          { id: 2, cls: 'raster_style', parent: 1, display_name: 'as is' },
          { id: 3, cls: 'raster_layer', parent: 0, display_name: 'Band 4326', source: 'band.tif' },
          { id: 4, cls: 'raster_style', parent: 3, display_name: 'ramp', ramp: [[0, '#0000ff'], [250, '#ff0000']] },
          { id: 5, cls: 'raster_style', parent: 3, display_name: 'steps', ramp: [[0, '#0000ff'], [100, '#00ff00']], interpolate: false },
          { id: 6, cls: 'vector_layer', parent: 0, display_name: 'Square', source: 'square.geojson' },
          { id: 7, cls: 'qgis_vector_style', parent: 6, display_name: 'white', style: { fill: '#ffffff' } },
          { id: 8, cls: 'raster_layer', parent: 0, display_name: 'Checkerboard', source: 'checker.tif' },
          { id: 9, cls: 'raster_style', parent: 8, display_name: 'as is' },
          { id: 10, cls: 'raster_layer', parent: 0, display_name: 'Broken', source: 'broken.tif' },
          { id: 11, cls: 'raster_style', parent: 10, display_name: 'as is' },
        ],
      },
    });
    // 8×8 pixels of 32 km from the origin: the left half red, the right half blue.
    const rgb = new Uint8Array(8 * 8 * 3);
    for (let p = 0; p < 64; p++) rgb.set(p % 8 < 4 ? [255, 0, 0] : [0, 0, 255], p * 3);
    writeFileSync(join(dir, 'rgb.tif'), geotiff(rgb, { width: 8, height: 8, bands: 3, x0: 0, y0: 256000, size: 32000, srs: 3857 }));
    // 10×10 one-degree pixels over lon 0–10, lat 40–50; the value is 25 × the row from the top, 255 is nodata.
    const band = new Uint8Array(100);
    for (let p = 0; p < 100; p++) band[p] = Math.floor(p / 10) * 25;
    band[99] = 255;
    writeFileSync(join(dir, 'band.tif'), geotiff(band, { width: 10, height: 10, bands: 1, x0: 0, y0: 50, size: 1, srs: 4326, nodata: 255 }));
    const square = [[0.5, 0.5], [3.5, 0.5], [3.5, 3.5], [0.5, 3.5], [0.5, 0.5]].map(([x, y]) => [lonOf(x * 32000), latOf(y * 32000)]);
    writeFileSync(join(dir, 'square.geojson'), JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [square] } }] }));
    writeFileSync(join(dir, 'broken.tif'), 'not a tiff');
    if (hasGdal) {
      // 512×512 black and white one-pixel checkerboard, tiled, with nearest-neighbour overviews (all one colour).
      const checker = new Uint8Array(512 * 512 * 3);
      for (let p = 0; p < 512 * 512; p++) checker.fill(((p % 512) + Math.floor(p / 512)) % 2 ? 255 : 0, p * 3, p * 3 + 3);
      writeFileSync(join(dir, 'plain.tif'), geotiff(checker, { width: 512, height: 512, bands: 3, x0: 0, y0: 512000, size: 1000, srs: 3857 }));
      assert.equal(spawnSync('gdal_translate', ['-q', '-co', 'TILED=YES', join(dir, 'plain.tif'), join(dir, 'checker.tif')]).status, 0);
      assert.equal(spawnSync('gdaladdo', ['-q', '-r', 'nearest', join(dir, 'checker.tif'), '2', '4']).status, 0);
    }
    s = await startServer({ dataDir: dir });
  });
  after(() => s?.stop());

  it('draws an RGB GeoTIFF in EPSG:3857 in place, transparent beyond it', async () => {
    const img = await image(s, [-128000, 0, 384000, 256000], [256, 128], '2');
    assert.deepEqual(img.at(96, 64), [255, 0, 0, 255]);
    assert.deepEqual(img.at(160, 64), [0, 0, 255, 255]);
    assert.equal(img.at(32, 64)[3], 0); // west of the raster
    assert.equal(img.at(224, 64)[3], 0); // east of it
  });

  it('gives a raster layer\'s extent in EPSG:4326 from its GeoTIFF (NGW\'s /extent of a layer with a box)', async () => {
    const extent = async (id: number) => {
      const res = await s.get(`/api/resource/${id}/extent`);
      return { status: res.status, body: await res.json() as { extent?: Record<string, number>; code?: string } };
    };
    const mercator = await extent(1); // 0–256,000 m east and north
    assert.equal(mercator.status, 200);
    const { minLon, minLat, maxLon, maxLat } = mercator.body.extent!;
    assert.deepEqual([minLon, minLat].map((v) => Math.abs(v) < 1e-9), [true, true]);
    assert.ok(Math.abs(maxLon - 256000 / 6378137 * 180 / Math.PI) < 1e-9, `maxLon ${maxLon}`);
    assert.ok(Math.abs(maxLat - Math.atan(Math.sinh(256000 / 6378137)) * 180 / Math.PI) < 1e-9, `maxLat ${maxLat}`);
    assert.deepEqual(await extent(3), { status: 200, body: { extent: { minLon: 0, minLat: 40, maxLon: 10, maxLat: 50 } } });
    assert.equal((await extent(10)).body.code, 'LAYER_UNAVAILABLE');
    assert.equal((await extent(2)).status, 422); // a style has no box of its own
  });

  it('colours a single band through the ramp, in EPSG:4326 rows placed in Web Mercator', async () => {
    // Row 4 from the top (lat 45–46) holds 100; the ramp runs blue at 0 to red at 250.
    assert.deepEqual(await colourAt(s, '4', 5.5, 45.5), [102, 0, 153, 255]);
    assert.deepEqual(await colourAt(s, '4', 5.5, 49.5), [0, 0, 255, 255]);
    assert.deepEqual(await colourAt(s, '4', 2.5, 40.5), [230, 0, 26, 255]); // 225: 229.5 and 25.5, rounded
    assert.equal((await colourAt(s, '4', 9.5, 40.5))[3], 0); // nodata
    assert.equal((await colourAt(s, '4', 5.5, 51))[3], 0); // north of the raster
    // Without interpolation a value takes its lower stop.
    assert.deepEqual(await colourAt(s, '5', 5.5, 47.5), [0, 0, 255, 255]); // 50
    assert.deepEqual(await colourAt(s, '5', 5.5, 45.5), [0, 255, 0, 255]); // 100
  });

  it('composites rasters and vector styles in the order asked', async () => {
    const extent = [0, 0, 256000, 256000];
    const whiteOnTop = await image(s, extent, [8, 8], '2,7');
    assert.deepEqual(whiteOnTop.at(1, 6), [255, 255, 255, 255]);
    const rasterOnTop = await image(s, extent, [8, 8], '7,2');
    assert.deepEqual(rasterOnTop.at(1, 6), [255, 0, 0, 255]);
  });

  it('draws a frame far finer than a raster pixel, at its edge, without enlarging the raster whole', async () => {
    // 1 mm across 256 px, on the edge between a red and a blue 32 km pixel (x = 128 km): the
    // window enlarged whole would be 8 million pixels a side (past sharp's bound: a 500 before).
    const edge = await image(s, [127999.9995, 100000, 128000.0005, 100000.001], [256, 256], '2');
    assert.deepEqual([edge.at(0, 128), edge.at(127, 0), edge.at(128, 255), edge.at(255, 128)],
      [[255, 0, 0, 255], [255, 0, 0, 255], [0, 0, 255, 255], [0, 0, 255, 255]]);
    // The same in EPSG:4326 rows, at a row edge (lat 46: 100 above, 75 below), and a z22 tile in it.
    const y = my(46);
    const rows = await image(s, [mx(5.5), y - 0.0005, mx(5.5) + 0.001, y + 0.0005], [64, 64], '4');
    assert.deepEqual([rows.at(32, 0), rows.at(32, 63)], [[77, 0, 179, 255], [102, 0, 153, 255]]);
    const tile = await s.get('/api/component/render/tile?z=22&x=2160000&y=1500000&resource=4');
    assert.equal(tile.status, 200);
  });

  it('serves raster tiles with the empty-tile rules of vector ones', async () => {
    const empty = await s.get('/api/component/render/tile?z=4&x=0&y=0&resource=2&nd=204');
    assert.equal(empty.status, 204);
    // Without nd: the transparent PNG an empty vector tile (the white square's, here) is too.
    const png = async (path: string) => {
      const res = await s.get(path);
      assert.deepEqual([res.status, res.headers.get('content-type')], [200, 'image/png'], path);
      return Buffer.from(await res.arrayBuffer());
    };
    const blank = await png('/api/component/render/tile?z=4&x=0&y=0&resource=2');
    assert.deepEqual(blank, await png('/api/component/render/tile?z=4&x=0&y=0&resource=7'));
    const clear = await decoded(blank);
    assert.deepEqual([clear.width, clear.height], [256, 256]);
    assert.ok(clear.data.every((v, i) => i % 4 !== 3 || v === 0), 'every pixel transparent');
    const tile = await s.get('/api/component/render/tile?z=6&x=32&y=31&resource=2');
    assert.equal(tile.status, 200);
    assert.equal(tile.headers.get('content-type'), 'image/png');
    // The raster covers the bottom-left 256 km of the tile's 626 km (2,446 m a pixel): red, then blue.
    const drawn = await decoded(Buffer.from(await tile.arrayBuffer()));
    assert.deepEqual([drawn.width, drawn.height], [256, 256]);
    assert.deepEqual(drawn.at(26, 200), [255, 0, 0, 255]);
    assert.deepEqual(drawn.at(78, 200), [0, 0, 255, 255]);
    assert.equal(drawn.at(180, 200)[3], 0); // east of the raster
    assert.equal(drawn.at(26, 100)[3], 0); // north of it
  });

  it('answers 503 for a raster source that is not a GeoTIFF, and keeps no handle on it', async () => {
    const { status, body } = await s.json('/api/component/render/tile?z=0&x=0&y=0&resource=11');
    assert.equal(status, 503);
    assert.equal(body.code, 'LAYER_UNAVAILABLE');
    assert.match(body.message, /"broken\.tif" is not a readable GeoTIFF/);
    assert.deepEqual(openFiles(join(dir, 'broken.tif')), [], 'the refused file is closed');
  });

  it('reads an overview when the frame is coarse, full resolution when it is fine', { skip: !hasGdal && 'GDAL (gdal_translate, gdaladdo) is not installed' }, async () => {
    // At 8 km per pixel the 4 km overview (nearest: one colour) serves; resampling the full
    // checkerboard instead would give grey.
    const coarse = await image(s, [0, 0, 512000, 512000], [64, 64], '9');
    const v = coarse.at(32, 32)[0];
    assert.ok(v === 0 || v === 255, `coarse pixel is ${v}, not a pixel of the overview`);
    const fine = await image(s, [0, 0, 16000, 16000], [16, 16], '9');
    assert.notEqual(fine.at(4, 4)[0], fine.at(5, 4)[0]);
  });
});

describe('a raster layer whose GeoTIFF changes', () => {
  const env = { MERIDIAN_SOURCE_CHECK_INTERVAL: '0.05' };
  /** 8×8 pixels of 32 km from the origin in one colour, written as an editor saves (a new file renamed over). */
  const paint = (file: string, colour: number[]) => {
    const rgb = new Uint8Array(8 * 8 * 3);
    for (let p = 0; p < 64; p++) rgb.set(colour, p * 3);
    writeFileSync(`${file}.tmp`, geotiff(rgb, { width: 8, height: 8, bands: 3, x0: 0, y0: 256000, size: 32000, srs: 3857 }));
    renameSync(`${file}.tmp`, file);
  };
  /** A data folder with one raster layer (style 2) over `one.tif`, painted red. */
  const redLayer = () => {
    const dir = tempData({ catalog: { resources: [
      { id: 1, cls: 'raster_layer', parent: 0, display_name: 'One colour', source: 'one.tif' },
      { id: 2, cls: 'raster_style', parent: 1, display_name: 'as is' },
    ] } });
    const file = join(dir, 'one.tif');
    paint(file, [255, 0, 0]);
    return { dir, file };
  };
  // The raster covers the lower left of this tile.
  const tileColour = async (server: TestServer) => {
    const res = await server.get('/api/component/render/tile?z=6&x=32&y=31&resource=2');
    const { data } = await sharp(Buffer.from(await res.arrayBuffer())).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return [...data.subarray((250 * 256 + 10) * 4, (250 * 256 + 10) * 4 + 4)];
  };

  it('is drawn from the new file while running and after a restart: its tiles in memory and on disk go', async () => {
    const { dir, file } = redLayer();
    let s = await startServer({ dataDir: dir, env });
    try {
      assert.deepEqual(await tileColour(s), [255, 0, 0, 255]);
      assert.deepEqual(await colourAt(s, '2', 1, 1), [255, 0, 0, 255]);
      paint(file, [0, 0, 255]);
      await until(async () => (await tileColour(s))[2] === 255, 5000);
      assert.deepEqual(await tileColour(s), [0, 0, 255, 255]);
      assert.deepEqual(await colourAt(s, '2', 1, 1), [0, 0, 255, 255]);
      await s.close(); // the tile is written to the store as the server stops
      paint(file, [0, 255, 0]);
      s = await startServer({ dataDir: dir, env });
      assert.deepEqual(await tileColour(s), [0, 255, 0, 255], 'not the stored tile of the file as it was');
    } finally {
      await s.stop();
    }
  });

  it('is closed in every worker once replaced or deleted, whether drawn again or not', async () => {
    const { dir, file } = redLayer();
    const s = await startServer({ dataDir: dir, env });
    try {
      assert.deepEqual(await tileColour(s), [255, 0, 0, 255]);
      assert.deepEqual(openFiles(file), [file], 'the worker that drew it keeps it open');
      paint(file, [0, 0, 255]);
      await until(() => openFiles(file).length === 0, 5000);
      assert.deepEqual(openFiles(file), [], 'the replaced file is closed, though not drawn again');
      assert.deepEqual(await tileColour(s), [0, 0, 255, 255]);
      assert.deepEqual(openFiles(file), [file], 'the new file is open');
      rmSync(file);
      await until(() => openFiles(file).length === 0, 5000);
      assert.deepEqual(openFiles(file), [], 'the deleted file is closed');
    } finally {
      await s.stop();
    }
  });
});

describe('a GeoTIFF changed again after its change was announced', () => {
  it('is drawn with its own extent, not the one announced', async () => {
    const file = join(tempData({}), 'moved.tif');
    /** A 4×4 raster of one colour, 32 km pixels, its left edge at x0. */
    const write = (colour: number[], x0: number) => {
      const rgb = new Uint8Array(4 * 4 * 3);
      for (let p = 0; p < 16; p++) rgb.set(colour, p * 3);
      writeFileSync(`${file}.tmp`, geotiff(rgb, { width: 4, height: 4, bands: 3, x0, y0: 128000, size: 32000, srs: 3857 }));
      renameSync(`${file}.tmp`, file);
    };
    write([255, 0, 0], 0);
    const announced = await rasterInfo(file);
    write([0, 0, 255], 256000); // a new file, 256 km east, before the next check announces it
    // 16 pixels of 32 km from x 0 to 512 km, y 0 to 128 km.
    const frame = { width: 16, height: 4, extent: [0, 0, 512000, 128000] as [number, number, number, number], dpi: 96 };
    const drawn = await renderRaster(announced, { ramp: null, interpolate: true, band: 1, opacity: 1 }, frame);
    assert.ok(drawn, 'the raster reaches the frame');
    const at = (x: number) => [...drawn.data.subarray((2 * 16 + x) * 4, (2 * 16 + x) * 4 + 4)];
    assert.deepEqual(at(2), [0, 0, 0, 0], 'nothing where the announced file was');
    assert.deepEqual(at(10), [0, 0, 255, 255], 'the new file where it lies');
  });
});
