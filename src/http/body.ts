// Request bodies: JSON, read with a size cap, whatever Content-Type the client sent (NextGIS Web
// clients do not always send one). A body that is not JSON is a 400 naming the problem.
import coBody from 'co-body';
import type { Context } from 'koa';
import { ApiError } from './errors.js';

export async function jsonBody(ctx: Context, limit = '10mb'): Promise<unknown> {
  try {
    return await coBody.json(ctx, { limit, strict: true });
  } catch (e) {
    const err = e as { status?: number; type?: string; message: string };
    if (err.status === 413) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `Request body is larger than ${limit}.`);
    if (err.status === 400 && err.type !== 'request.aborted') throw new ApiError(400, 'INVALID_JSON', `Request body is not valid JSON: ${err.message}.`);
    throw e;
  }
}
