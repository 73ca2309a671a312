// Rasterizing (librsvg through sharp) and PNG encoding. A palette PNG is written only when the
// image has at most 256 distinct RGBA values, so it is exact; otherwise RGBA, by sharp (see
// bench/render.ts for the zlib level chosen).
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

export interface Rgba8 {
  data: Buffer;
  width: number;
  height: number;
}

export async function rasterizeSvg(svg: string): Promise<Rgba8> {
  const { data, info } = await sharp(Buffer.from(svg), { density: 72 }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Images of one size laid over each other, first lowest. */
export async function composite(images: Rgba8[]): Promise<Rgba8> {
  const [base, ...above] = images;
  const raw = { width: base.width, height: base.height, channels: 4 as const };
  const data = await sharp(base.data, { raw }).composite(above.map((i) => ({ input: i.data, raw }))).raw().toBuffer();
  return { data, width: base.width, height: base.height };
}

export async function encodePng(image: Rgba8): Promise<Buffer> {
  return exactPalettePng(image)
    ?? sharp(image.data, { raw: { width: image.width, height: image.height, channels: 4 } }).png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();
}

/**
 * The image as a palette PNG when it has at most 256 distinct RGBA values, each its own entry (so
 * exact), else null. Written here: sharp makes palettes only through libimagequant, which keeps
 * every colour only at its slowest speed (effort 10: several times this; see bench/render.ts).
 */
function exactPalettePng({ data, width, height }: Rgba8): Buffer | null {
  const words = new Uint32Array(data.buffer, data.byteOffset, width * height);
  const index = new Map<number, number>();
  const entries = Buffer.alloc(256 * 4);
  // Each row: filter type 0 (none, as palette images are best left), then one index a pixel.
  const rows = Buffer.alloc((width + 1) * height);
  let last = -1, lastIndex = 0;
  for (let y = 0, p = 0, o = 0; y < height; y++) {
    o++;
    for (let x = 0; x < width; x++, p++) {
      const c = words[p];
      if (c !== last) {
        let i = index.get(c);
        if (i === undefined) {
          if (index.size === 256) return null;
          i = index.size;
          index.set(c, i);
          data.copy(entries, i * 4, p * 4, p * 4 + 4);
        }
        last = c;
        lastIndex = i;
      }
      rows[o++] = lastIndex;
    }
  }
  return palettePng(width, height, 8, entries.subarray(0, index.size * 4), rows);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG chunk: length, type, data, and the CRC of type and data. */
function pngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

/**
 * A palette PNG: `bitDepth` bits an index, the palette's colours and alphas (PLTE, tRNS) from
 * `rgba` (4 bytes an entry), `rows` as IDAT holds them before compression.
 */
function palettePng(width: number, height: number, bitDepth: 1 | 8, rgba: Buffer, rows: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([bitDepth, 3, 0, 0, 0], 8); // colour type 3 (palette), deflate, no filter method, no interlace
  const entries = rgba.length / 4, colours = Buffer.alloc(entries * 3), alphas = Buffer.alloc(entries);
  for (let i = 0; i < entries; i++) {
    rgba.copy(colours, i * 3, i * 4, i * 4 + 3);
    alphas[i] = rgba[i * 4 + 3];
  }
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', header), pngChunk('PLTE', colours), pngChunk('tRNS', alphas),
    pngChunk('IDAT', deflateSync(rows, { level: 6 })), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * A fully transparent PNG: 1 bit a pixel, every pixel palette entry 0, which is transparent.
 * Written directly: sharp's quantizer took 1.9 s over a 4096 × 4096 image of nothing (0.3 s as
 * RGBA, at 30 times the bytes); deflating its rows of zero bits takes milliseconds.
 */
export function transparentPng(width: number, height: number): Buffer {
  // Each row: filter type 0, then its pixels' bits, all 0.
  return palettePng(width, height, 1, Buffer.alloc(4), Buffer.alloc((1 + Math.ceil(width / 8)) * height));
}

/** The transparent 256×256 tile, made once and shared by every empty tile. */
export const EMPTY_TILE = transparentPng(256, 256);
