// Request bodies for write endpoints, at most 64 KiB; routers opt in per route. The body is read as
// JSON whatever the content type says (NGW does the same, and `curl -d` labels JSON as a form);
// `readJsonOrForm` also takes HTML form posts (the login form).
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import { ApiError } from './errors.js';

const LIMITS = {
  jsonLimit: '64kb',
  formLimit: '64kb',
  onError(err: Error & { status?: number }): never {
    if (err.status === 413) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than 64 KiB.');
    if (err.status === 415) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', err.message);
    throw new ApiError(400, 'INVALID_BODY', `The request body cannot be parsed: ${err.message}`);
  },
};

export const readJson = bodyParser({ enableTypes: ['json'], detectJSON: () => true, ...LIMITS });

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
