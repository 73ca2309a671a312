// Comparing two renders of one tile, as decoded RGBA: how far they cover the same pixels and
// how close their colours are where both are opaque.
import sharp from 'sharp';

export interface Agreement {
  /** Share of all pixels that both cover or both leave (alpha 128 as the line). */
  coverage: number;
  /** Pixels the reference covers. */
  referenceCovered: number;
  /** Mean per-channel difference over pixels opaque in both. */
  colourError: number;
}

export async function rgbaOf(png: Buffer | string): Promise<Buffer> {
  return sharp(png).ensureAlpha().raw().toBuffer();
}

export function agreement(ours: Buffer, reference: Buffer): Agreement {
  let agree = 0, referenceCovered = 0, error = 0, solid = 0;
  for (let i = 0; i < reference.length; i += 4) {
    const a = ours[i + 3] >= 128, b = reference[i + 3] >= 128;
    if (a === b) agree++;
    if (b) referenceCovered++;
    if (ours[i + 3] === 255 && reference[i + 3] === 255) {
      solid++;
      for (let c = 0; c < 3; c++) error += Math.abs(ours[i + c] - reference[i + c]);
    }
  }
  return { coverage: agree / (reference.length / 4), referenceCovered, colourError: solid ? error / (3 * solid) : 0 };
}

export function describeAgreement(a: Agreement): string {
  return `coverage agrees on ${(100 * a.coverage).toFixed(1)}% of pixels, mean colour difference ${a.colourError.toFixed(2)}`;
}
