// Which tiles a job covers: the XYZ tiles (EPSG:3857 scheme) meeting a longitude/latitude box at
// each zoom, cut into square blocks that become tasks.
import { SphericalMercator } from '@mapbox/sphericalmercator';
import type { BBox } from '../store/types.js';
import type { TileAddress } from '../tiles/address.js';
import type { TileBlock } from './types.js';

/** Tiles per block side: a task is at most 16 × 16 = 256 tiles, a few seconds of work. */
export const BLOCK_SIDE = 16;

/** Web Mercator's latitude limit: the tile pyramid ends there. */
export const MAX_LATITUDE = 85.0511287798066;

const mercator = new SphericalMercator({ size: 256 });

function clampLatitudes([minx, miny, maxx, maxy]: BBox): BBox {
  return [minx, Math.max(miny, -MAX_LATITUDE), maxx, Math.min(maxy, MAX_LATITUDE)];
}

/**
 * The block of every tile `bbox` reaches into at `z` (sphericalmercator works in whole pixels: a
 * tile the box only touches at its right or bottom edge, or enters by less than a pixel, is not).
 */
export function zoomBlock(bbox: BBox, z: number): TileBlock {
  const r = mercator.xyz(clampLatitudes(bbox), z);
  const last = 2 ** z - 1;
  const clamp = (v: number) => Math.min(Math.max(v, 0), last);
  return { z, xMin: clamp(r.minX), xMax: clamp(r.maxX), yMin: clamp(r.minY), yMax: clamp(r.maxY) };
}

export function blockSize(b: TileBlock): number {
  return (b.xMax - b.xMin + 1) * (b.yMax - b.yMin + 1);
}

/** How many tiles the job covers over its zoom range. */
export function tileCount(bbox: BBox, [minZoom, maxZoom]: readonly [number, number]): number {
  let n = 0;
  for (let z = minZoom; z <= maxZoom; z++) n += blockSize(zoomBlock(bbox, z));
  return n;
}

/** The job's tiles as blocks of at most BLOCK_SIDE × BLOCK_SIDE, zoom by zoom, rows of blocks top down. */
export function* jobBlocks(bbox: BBox, [minZoom, maxZoom]: readonly [number, number]): Generator<TileBlock> {
  for (let z = minZoom; z <= maxZoom; z++) {
    const all = zoomBlock(bbox, z);
    for (let y = all.yMin; y <= all.yMax; y += BLOCK_SIDE) {
      for (let x = all.xMin; x <= all.xMax; x += BLOCK_SIDE) {
        yield { z, xMin: x, xMax: Math.min(x + BLOCK_SIDE - 1, all.xMax), yMin: y, yMax: Math.min(y + BLOCK_SIDE - 1, all.yMax) };
      }
    }
  }
}

/** The `index`-th tile of a block, row by row. */
export function tileAt(b: TileBlock, index: number): TileAddress {
  const width = b.xMax - b.xMin + 1;
  return { z: b.z, x: b.xMin + (index % width), y: b.yMin + Math.floor(index / width) };
}
