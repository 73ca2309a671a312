// Drawing a GeoTIFF (EPSG:3857 or EPSG:4326) into a frame: the coarsest overview that is still
// fine enough is chosen, only the window under the frame is read (geotiff reads just the tiles or
// strips it covers), its pixels become RGBA, and sharp reduces them to the frame (EPSG:4326 rows
// are then moved to their Web Mercator places), or each frame pixel takes the one under its centre.
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { BroadcastChannel } from 'node:worker_threads';
import { GeoTIFF, type GeoTIFFImage } from 'geotiff';
import sharp from 'sharp';
import { fileStamp } from '../store/source-files.js';
import { latOf, lonOf, mercatorX, mercatorY } from './mercator.js';
import type { Rgba8 } from './png.js';
import { rampColour, type RasterStyle } from './raster-style.js';
import type { Frame } from './units.js';

/** A GeoTIFF Meridian cannot draw; in a worker it crosses back as the 503 the main thread gives. */
export class RasterError extends Error {
  readonly status = 503;
  readonly code = 'LAYER_UNAVAILABLE';
}

export interface RasterInfo {
  path: string;
  /** The file's size and modification time when it was read: a changed file is opened afresh (in every thread). */
  version: string;
  srs: 3857 | 4326;
  bands: number;
  bitsPerSample: number;
  /** In the raster's CRS. */
  bbox: [number, number, number, number];
  nodata: number | null;
}

/**
 * geotiff's reader over a file handle of ours: geotiff's own file source keeps its handle out of
 * reach, so a file whose header it refuses could never be closed.
 */
class HandleSource {
  constructor(private readonly handle: FileHandle) {}

  fetch(slices: { offset: number; length: number }[]): Promise<ArrayBuffer[]> {
    return Promise.all(slices.map(async ({ offset, length }) => {
      const bytes = new Uint8Array(length);
      await this.handle.read(bytes, 0, length, offset);
      return bytes.buffer;
    }));
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

interface OpenRaster {
  tiff: GeoTIFF;
  /** Read from the same handle as the pixels, so the two always describe one version of the file. */
  info: RasterInfo;
}

/** The file at `path` as it is now. */
async function openNow(path: string): Promise<OpenRaster> {
  let handle: FileHandle;
  try {
    handle = await openFile(path, 'r');
  } catch (e) {
    throw new RasterError(`cannot be opened (${(e as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  try {
    const version = fileStamp(await handle.stat());
    let tiff: GeoTIFF, image: GeoTIFFImage;
    try {
      tiff = await GeoTIFF.fromSource(new HandleSource(handle) as unknown as Parameters<typeof GeoTIFF.fromSource>[0]);
      image = await tiff.getImage(0);
    } catch (e) {
      throw new RasterError(`is not a readable GeoTIFF (${(e as Error).message})`);
    }
    return { tiff, info: describe(path, version, image) };
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

function describe(path: string, version: string, image: GeoTIFFImage): RasterInfo {
  const keys = image.getGeoKeys() ?? {};
  const srs = keys.ProjectedCSTypeGeoKey === 3857 || keys.ProjectedCSTypeGeoKey === 900913 ? 3857
    : !keys.ProjectedCSTypeGeoKey && keys.GeographicTypeGeoKey === 4326 ? 4326 : null;
  if (!srs) throw new RasterError('is in a CRS other than EPSG:3857 and EPSG:4326');
  const bands = image.getSamplesPerPixel();
  const bitsPerSample = image.getBitsPerSample();
  if (bands !== 1 && !(bitsPerSample === 8 && (bands === 3 || bands === 4))) {
    throw new RasterError('is neither 8-bit RGB or RGBA nor single-band');
  }
  return { path, version, srs, bands, bitsPerSample, bbox: image.getBoundingBox() as RasterInfo['bbox'], nodata: image.getGDALNoData() };
}

/** What the render needs to know of a GeoTIFF; RasterError when it is not one Meridian draws. */
export async function rasterInfo(path: string): Promise<RasterInfo> {
  const { tiff, info } = await openNow(path);
  await tiff.close();
  return info;
}

/**
 * A file a drawing thread keeps open, under the version a request announced (the file may have
 * changed since: its pixels are drawn with the info read from this handle).
 */
interface Held {
  version: string;
  raster: Promise<OpenRaster>;
  /** Draws under way with it: one dropped (superseded or released) is closed when the last ends. */
  draws: number;
}

/** Drawing threads keep each file open: path → the version last asked for. */
const held = new Map<string, Held>();

/** The file at `version`, counted as drawing until `release`d; another version held is dropped. */
function acquire(path: string, version: string): Held {
  listenForReleases();
  let entry = held.get(path);
  if (entry?.version !== version) {
    drop(path);
    const opening: Held = { version, raster: openNow(path), draws: 0 };
    // A file that cannot be opened is tried again by the next request.
    opening.raster.catch(() => { if (held.get(path) === opening) held.delete(path); });
    held.set(path, (entry = opening));
  }
  entry.draws++;
  return entry;
}

function release(path: string, entry: Held): void {
  if (--entry.draws === 0 && held.get(path) !== entry) close(entry);
}

function drop(path: string): void {
  const entry = held.get(path);
  if (!entry) return;
  held.delete(path);
  if (entry.draws === 0) close(entry);
}

function close(entry: Held): void {
  entry.raster.then(async (r) => { await r.tiff.close(); }, () => undefined).catch(() => undefined);
}

/**
 * The main thread tells drawing threads that a raster layer's file changed or went, and each closes
 * what it holds of it: superseding alone would keep a replaced or deleted file open in every worker
 * that does not draw it again. A channel rather than a pool task: it arrives at once, is never shed
 * or queued behind renders, and reaches every worker without the pool knowing of files.
 */
const RELEASE_CHANNEL = 'meridian:raster-release';
let releases: BroadcastChannel | undefined;

function listenForReleases(): void {
  if (releases) return;
  releases = new BroadcastChannel(RELEASE_CHANNEL);
  releases.onmessage = (e) => drop((e as { data: string }).data);
  releases.unref();
}

/**
 * Every drawing thread closes what it holds of `path` (a file in use once its draws end). Sent once
 * the change is seen, so whatever a worker opens after this arrives is the file as changed.
 */
export function releaseRaster(path: string): void {
  const channel = new BroadcastChannel(RELEASE_CHANNEL);
  channel.postMessage(path);
  channel.close();
}

/** The frame's extent in the raster's CRS. */
function frameExtent(frame: Frame, srs: 3857 | 4326): [number, number, number, number] {
  const [minx, miny, maxx, maxy] = frame.extent;
  if (srs === 3857) return [minx, miny, maxx, maxy];
  return [lonOf(minx), latOf(miny), lonOf(maxx), latOf(maxy)];
}

/** The coarsest image (full resolution or overview) whose pixels are no larger than `wanted`. */
async function chooseImage(tiff: GeoTIFF, info: RasterInfo, wanted: number): Promise<GeoTIFFImage> {
  const full = await tiff.getImage(0);
  let best = full;
  const count = await tiff.getImageCount();
  for (let i = 1; i < count; i++) {
    const image = await tiff.getImage(i);
    if (image.getSamplesPerPixel() !== info.bands) continue; // a mask, not an overview
    const res = (info.bbox[2] - info.bbox[0]) / image.getWidth();
    if (res <= wanted && image.getWidth() < best.getWidth()) best = image;
  }
  return best;
}

/** Window pixels as RGBA, with the style's ramp or the raster's own colours. */
function toRgba(samples: ArrayLike<number>, pixels: number, info: RasterInfo, style: RasterStyle): Buffer {
  const out = Buffer.alloc(pixels * 4);
  const n = info.bands, nodata = info.nodata;
  const alpha = style.opacity;
  const useRamp = style.ramp && style.band <= n;
  for (let p = 0; p < pixels; p++) {
    const s = p * n, o = p * 4;
    if (useRamp) {
      const v = samples[s + style.band - 1];
      if (v === nodata || Number.isNaN(v)) continue;
      rampColour(style, v, out, o);
    } else if (n >= 3) {
      const r = samples[s], g = samples[s + 1], b = samples[s + 2];
      if (nodata !== null && r === nodata && g === nodata && b === nodata) continue;
      out[o] = r; out[o + 1] = g; out[o + 2] = b; out[o + 3] = n === 4 ? samples[s + 3] : 255;
    } else {
      const v = samples[s];
      if (v === nodata || Number.isNaN(v)) continue;
      out[o] = out[o + 1] = out[o + 2] = Math.max(0, Math.min(255, v)); out[o + 3] = 255;
    }
    if (alpha < 1) out[o + 3] = Math.round(out[o + 3] * alpha);
  }
  return out;
}

/** The raster drawn over the frame, frame-sized RGBA; null when it does not reach the frame. */
export async function renderRaster(announced: RasterInfo, style: RasterStyle, frame: Frame): Promise<Rgba8 | null> {
  const entry = acquire(announced.path, announced.version);
  try {
    const raster = await entry.raster.catch((e: unknown) => {
      // Read well when announced: it changed since, or cannot be opened here (EMFILE, EACCES).
      throw e instanceof RasterError ? new RasterError(`A raster file of the request ${e.message}; it is drawn again once readable.`) : e;
    });
    return await draw(raster, style, frame);
  } finally {
    release(announced.path, entry);
  }
}

async function draw({ tiff, info }: OpenRaster, style: RasterStyle, frame: Frame): Promise<Rgba8 | null> {
  const [fx0, fy0, fx1, fy1] = frameExtent(frame, info.srs);
  const [bx0, by0, bx1, by1] = info.bbox;
  const x0 = Math.max(fx0, bx0), y0 = Math.max(fy0, by0), x1 = Math.min(fx1, bx1), y1 = Math.min(fy1, by1);
  if (x0 >= x1 || y0 >= y1) return null;

  const image = await chooseImage(tiff, info, (fx1 - fx0) / frame.width);
  const resX = (bx1 - bx0) / image.getWidth(), resY = (by1 - by0) / image.getHeight();
  const window = [
    Math.max(0, Math.floor((x0 - bx0) / resX)), Math.max(0, Math.floor((by1 - y1) / resY)),
    Math.min(image.getWidth(), Math.ceil((x1 - bx0) / resX)), Math.min(image.getHeight(), Math.ceil((by1 - y0) / resY)),
  ];
  const w = window[2] - window[0], h = window[3] - window[1];
  if (w <= 0 || h <= 0) return null;
  const samples = await image.readRasters({ window, interleave: true }) as unknown as ArrayLike<number>;
  const rgba = toRgba(samples, w * h, info, style);

  // Where the window lands in the frame, in frame pixels.
  const ppm = frame.width / (frame.extent[2] - frame.extent[0]);
  const [, , , fmaxy] = frame.extent;
  const wx0 = bx0 + window[0] * resX, wx1 = bx0 + window[2] * resX;
  const wy1 = by1 - window[1] * resY, wy0 = by1 - window[3] * resY;
  const mx = (x: number) => (info.srs === 4326 ? mercatorX(x) : x);
  const my = (y: number) => (info.srs === 4326 ? mercatorY(y) : y);
  const left = Math.round((mx(wx0) - frame.extent[0]) * ppm), right = Math.round((mx(wx1) - frame.extent[0]) * ppm);
  const top = Math.round((fmaxy - my(wy1)) * ppm), bottom = Math.round((fmaxy - my(wy0)) * ppm);
  const outW = Math.max(1, right - left), outH = Math.max(1, bottom - top);
  // QGIS draws enlarged raster pixels as crisp squares (nearest neighbour). Sampled at the frame's
  // pixels only: the window enlarged whole is as many pixels as its raster pixels span at the
  // frame's scale, which a deep zoom makes gigabytes (or past what sharp takes, a 500).
  if (outW > w) return enlarged(rgba, w, h, frame, info.srs, { wx0, wy1, resX, resY });
  const rowsLinear = info.srs === 4326 ? Math.max(outH, h) : outH;
  let piece: Buffer = await sharp(rgba, { raw: { width: w, height: h, channels: 4 } })
    .resize(outW, rowsLinear, { fit: 'fill', kernel: 'lanczos3' })
    .raw().toBuffer();
  if (info.srs === 4326) piece = mercatorRows(piece, outW, outH, rowsLinear, { top, fmaxy, ppm, wy0, wy1 });

  // Crop what falls outside the frame, then place the rest on a transparent frame.
  const cl = Math.max(0, -left), ct = Math.max(0, -top);
  const cw = Math.min(outW - cl, frame.width - Math.max(0, left)), ch = Math.min(outH - ct, frame.height - Math.max(0, top));
  if (cw <= 0 || ch <= 0) return null;
  const visible = await sharp(piece, { raw: { width: outW, height: outH, channels: 4 } })
    .extract({ left: cl, top: ct, width: cw, height: ch }).raw().toBuffer();
  const data = await sharp({ create: { width: frame.width, height: frame.height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: visible, raw: { width: cw, height: ch, channels: 4 }, left: Math.max(0, left), top: Math.max(0, top) }])
    .raw().toBuffer();
  return { data, width: frame.width, height: frame.height };
}

/**
 * The window's pixels (w × h RGBA, its top-left corner at `wx0`, `wy1` in the raster's CRS, `resX`
 * × `resY` each) under each frame pixel's centre, frame-sized; null when none is under the frame.
 */
function enlarged(rgba: Buffer, w: number, h: number, frame: Frame, srs: 3857 | 4326,
  at: { wx0: number; wy1: number; resX: number; resY: number }): Rgba8 | null {
  const ppm = frame.width / (frame.extent[2] - frame.extent[0]);
  const cols = new Int32Array(frame.width), rows = new Int32Array(frame.height);
  let anyCol = false, anyRow = false;
  for (let c = 0; c < frame.width; c++) {
    const x = frame.extent[0] + (c + 0.5) / ppm;
    const col = Math.floor(((srs === 4326 ? lonOf(x) : x) - at.wx0) / at.resX);
    cols[c] = col >= 0 && col < w ? col : -1;
    anyCol ||= cols[c] >= 0;
  }
  for (let r = 0; r < frame.height; r++) {
    const y = frame.extent[3] - (r + 0.5) / ppm;
    const row = Math.floor((at.wy1 - (srs === 4326 ? latOf(y) : y)) / at.resY);
    rows[r] = row >= 0 && row < h ? row : -1;
    anyRow ||= rows[r] >= 0;
  }
  if (!anyCol || !anyRow) return null;
  const source = new Uint32Array(rgba.buffer, rgba.byteOffset, w * h);
  const data = Buffer.alloc(frame.width * frame.height * 4);
  const out = new Uint32Array(data.buffer, data.byteOffset, frame.width * frame.height);
  for (let r = 0; r < frame.height; r++) {
    if (rows[r] < 0) continue;
    const from = rows[r] * w, to = r * frame.width;
    for (let c = 0; c < frame.width; c++) if (cols[c] >= 0) out[to + c] = source[from + cols[c]];
  }
  return { data, width: frame.width, height: frame.height };
}

/** Rows spaced evenly in latitude, moved to rows spaced evenly in Web Mercator y (nearest row). */
function mercatorRows(linear: Buffer, width: number, height: number, rows: number,
  at: { top: number; fmaxy: number; ppm: number; wy0: number; wy1: number }): Buffer {
  const out = Buffer.alloc(width * height * 4);
  const rowBytes = width * 4;
  for (let r = 0; r < height; r++) {
    const y = at.fmaxy - (at.top + r + 0.5) / at.ppm;
    const lat = latOf(y);
    const source = Math.min(rows - 1, Math.max(0, Math.floor((at.wy1 - lat) / (at.wy1 - at.wy0) * rows)));
    linear.copy(out, r * rowBytes, source * rowBytes, (source + 1) * rowBytes);
  }
  return out;
}
