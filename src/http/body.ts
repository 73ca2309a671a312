// Request bodies for write endpoints, at most 64 KiB (identify's, `readLargeJson`, 5 MB); routers
// opt in per route. The body is read as JSON whatever the content type says (NGW does the same, and
// `curl -d` labels JSON as a form); `readJsonOrForm` also takes HTML form posts (the login form).
import { bodyParser } from '@koa/bodyparser';
import { pipeline, type Transform } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import type { Context, Next } from 'koa';
import { clientClosed } from './client-gone.js';
import { ApiError } from './errors.js';

const limits = (size: string, said: string) => ({
  jsonLimit: size,
  formLimit: size,
  onError(err: Error & { status?: number }): never {
    if (err.status === 413) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${said}.`);
    if (err.status === 415) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', err.message);
    throw new ApiError(400, 'INVALID_BODY', `The request body cannot be parsed: ${err.message}`);
  },
});
const LIMITS = limits('64kb', '64 KiB');

export const readJson = bodyParser({ enableTypes: ['json'], detectJSON: () => true, ...LIMITS });

/** Most bytes of a body read by `readLargeJson`. */
const LARGE_BODY = 5 * 2 ** 20;
/** Most values outside strings in such a body (identify's: a few fields and at most 100 layer ids). */
const LARGE_BODY_VALUES = 10_000;

/**
 * For bodies whose size is one long string (identify: up to 100,000 vertices of WKT, some 4 MB at
 * full precision; at most 5 MB). JSON.parse runs on the main thread: a 5 MB string costs it ~5 ms,
 * but 5 MB of brackets or short values ~0.5 s and 250 MB. So the text is scanned before it is
 * parsed (strings skipped natively) and refused past LARGE_BODY_VALUES arrays, objects or list
 * items.
 */
export async function readLargeJson(ctx: Context, next: Next): Promise<void> {
  const text = await readText(ctx);
  if (!withinValues(text, LARGE_BODY_VALUES)) {
    throw new ApiError(400, 'INVALID_BODY', `The request body holds more than ${LARGE_BODY_VALUES} values outside strings.`);
  }
  try {
    ctx.request.body = text.trim() ? JSON.parse(text) : {};
  } catch (e) {
    throw new ApiError(400, 'INVALID_BODY', `The request body cannot be parsed: ${(e as Error).message}`);
  }
  await next();
}

const DECODERS: Record<string, () => Transform> = { gzip: createGunzip, 'x-gzip': createGunzip, deflate: createInflate };

/**
 * The body as UTF-8 text (a byte-order mark dropped), decompressed, at most LARGE_BODY bytes once decompressed.
 * Not co-body's `text`: its inflation pipes the request into zlib with `pipe`, so a client leaving
 * mid-way through a compressed body leaves the read pending for ever (no 499), and it takes
 * brotli but not x-gzip.
 */
async function readText(ctx: Context): Promise<string> {
  const encoding = ctx.get('Content-Encoding').toLowerCase();
  const decoder = encoding && encoding !== 'identity' ? DECODERS[encoding] : undefined;
  if (encoding && encoding !== 'identity' && !decoder) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Encoding "${encoding}" is not accepted (gzip, deflate).`);
  const tooLarge = () => new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than 5 MB.');
  if (Number(ctx.get('Content-Length')) > LARGE_BODY) throw tooLarge();
  const body: AsyncIterable<Buffer> = decoder ? pipeline(ctx.req, decoder(), () => {}) : ctx.req;
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of body) {
      bytes += chunk.length;
      if (bytes > LARGE_BODY) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    // zlib's errors are Z_DATA_ERROR and the like; any other is the connection breaking mid-body.
    if ((e as NodeJS.ErrnoException).code?.startsWith('Z_')) throw new ApiError(400, 'INVALID_BODY', `The request body cannot be decompressed: ${(e as Error).message}`);
    throw clientClosed();
  }
  const text = Buffer.concat(chunks, bytes).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Whether `text` opens at most `limit` arrays and objects and separates at most `limit` items, outside strings. */
function withinValues(text: string, limit: number): boolean {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = stringEnd(text, i);
    else if ((c === 0x5b || c === 0x7b || c === 0x2c) && ++count > limit) return false;
  }
  return true;
}

/** The index of the quote closing the string opened at `open` (the text's end when unclosed: JSON.parse says so). */
function stringEnd(text: string, open: number): number {
  for (let quote = text.indexOf('"', open + 1); quote >= 0; quote = text.indexOf('"', quote + 1)) {
    let slashes = 0;
    while (text.charCodeAt(quote - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return quote;
  }
  return text.length;
}

export const readJsonOrForm = bodyParser({
  enableTypes: ['json', 'form'],
  // Form-encoded when labelled so, JSON otherwise.
  detectJSON: (ctx) => !ctx.is('application/x-www-form-urlencoded'),
  ...LIMITS,
});

/** The parsed body, which must be an object. */
export function bodyObject(ctx: Context): Record<string, unknown> {
  const body = ctx.request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'INVALID_BODY', 'The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

/** 400 naming the body field. */
export const badField = (name: string, problem: string) =>
  new ApiError(400, 'INVALID_FIELD', `Field "${name}" ${problem}.`, 'Invalid field');
