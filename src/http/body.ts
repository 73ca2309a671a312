// Request bodies for write endpoints, at most 64 KiB; routers opt in per route. The body is read as
// JSON whatever the content type says (NGW does the same, and `curl -d` labels JSON as a form);
// `readJsonOrForm` also takes HTML form posts (the login form).
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
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

/**
 * For bodies that carry geometry (identify: up to 100,000 vertices of WKT, some 4 MB at full
 * precision). No larger: JSON.parse runs on the main thread, and a body of nothing but nested
 * brackets costs it ~0.1 s and ~50 MB per MB.
 */
export const readLargeJson = bodyParser({ enableTypes: ['json'], detectJSON: () => true, ...limits('5mb', '5 MB') });

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
