// Rasterizing (librsvg through sharp) and PNG encoding. A palette PNG is written only when the
// image has at most 256 distinct RGBA values, so it is exact; otherwise RGBA (see bench/render.ts
// for the zlib level chosen).
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

/** Distinct RGBA values, counting no further than `limit + 1`. */
export function distinctColours(data: Uint8Array, limit: number): number {
  const seen = new Set<number>();
  const words = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >> 2);
  for (let i = 0; i < words.length; i++) {
    seen.add(words[i]);
    if (seen.size > limit) break;
  }
  return seen.size;
}

export async function encodePng(image: Rgba8): Promise<Buffer> {
  const colours = distinctColours(image.data, 256);
  const input = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 4 } });
  if (colours <= 256) {
    // libimagequant keeps every colour only at its slowest speed (effort 10): faster speeds
    // posterize the input first and shift colours by one or two levels.
    return input.png({ palette: true, colours: Math.max(2, colours), quality: 100, dither: 0, effort: 10, compressionLevel: 6 }).toBuffer();
  }
  return input.png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();
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
 * A fully transparent PNG: 1 bit a pixel, every pixel palette entry 0, which tRNS makes transparent.
 * Written here rather than by sharp, whose quantizer took 1.9 s over a 4096 × 4096 image of nothing
 * (0.3 s as RGBA, at 30 times the bytes); deflating its rows of zero bits takes milliseconds.
 */
export function transparentPng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([1, 3, 0, 0, 0], 8); // bit depth 1, colour type 3 (palette), deflate, no filter method, no interlace
  // Each row: filter type 0 (none), then its pixels' bits, all 0.
  const rows = Buffer.alloc((1 + Math.ceil(width / 8)) * height);
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', header), pngChunk('PLTE', Buffer.alloc(3)), pngChunk('tRNS', Buffer.alloc(1)),
    pngChunk('IDAT', deflateSync(rows, { level: 9 })), pngChunk('IEND', Buffer.alloc(0))]);
}

/** The transparent 256×256 tile, made once and shared by every empty tile. */
export const EMPTY_TILE = transparentPng(256, 256);
