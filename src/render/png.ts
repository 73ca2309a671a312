// Rasterizing (librsvg through sharp) and PNG encoding. A palette PNG is written only when the
// image has at most 256 distinct RGBA values, so it is exact; otherwise RGBA (see bench/render.ts
// for the zlib level chosen).
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

/** A fully transparent PNG. */
export function transparentPng(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .png({ palette: true, colours: 2, compressionLevel: 9 }).toBuffer();
}

let empty: Promise<Buffer> | null = null;

/** The transparent 256×256 tile, made once and shared by every empty tile. */
export function emptyTile(): Promise<Buffer> {
  empty ??= transparentPng(256, 256);
  return empty;
}
