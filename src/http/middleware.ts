// Cross-cutting middleware: request ids, one structured log line per request, and errors as JSON.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { ApiError, ngwErrorFormat, type ErrorFormat } from './errors.js';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    /** Set by an API area whose clients expect another error shape. */
    errorFormat?: ErrorFormat;
  }
}

const SAFE_ID = /^[\w.-]{1,64}$/;

export function requestId() {
  return async (ctx: Context, next: Next) => {
    const given = ctx.get('x-request-id');
    ctx.state.requestId = SAFE_ID.test(given) ? given : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    await next();
  };
}

const SENT = Symbol('sentBytes');

/**
 * Counts the body bytes actually written to a response, whatever the body's kind. Memoised on the
 * response so the request log and the monitoring counters share one wrapping of write/end.
 */
export function countSentBytes(res: ServerResponse & { [SENT]?: () => number }): () => number {
  const existing = res[SENT];
  if (existing) return existing;
  let sent = 0;
  const add = (chunk: unknown, encoding?: unknown) => {
    if (chunk && typeof chunk !== 'function') {
      sent += typeof chunk === 'string' ? Buffer.byteLength(chunk, typeof encoding === 'string' ? encoding as BufferEncoding : 'utf8') : (chunk as Uint8Array).length;
    }
  };
  const write = res.write, end = res.end;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) { add(chunk, rest[0]); return (write as Function).call(this, chunk, ...rest); } as typeof res.write;
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) { add(chunk, rest[0]); return (end as Function).call(this, chunk, ...rest); } as typeof res.end;
  return (res[SENT] = () => sent);
}

export function requestLog(log: Logger) {
  return async (ctx: Context, next: Next) => {
    const started = process.hrtime.bigint();
    const sent = countSentBytes(ctx.res);
    ctx.res.once('close', () => {
      log.info({
        id: ctx.state.requestId, method: ctx.method, path: ctx.path, status: ctx.status, bytes: sent(),
        ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
      }, 'request');
    });
    await next();
  };
}

/** Errors become JSON in the area's format; unexpected ones are logged and answered 500. */
export function errorHandler(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new ApiError(404, 'NOT_FOUND', `No endpoint at ${ctx.method} ${ctx.path}.`);
      }
    } catch (err) {
      let e: ApiError;
      if (err instanceof ApiError) e = err;
      else if ((err as { status?: number }).status === 405 || (err as { status?: number }).status === 501) {
        e = new ApiError(405, 'METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}.`);
      } else if ((err as { expose?: boolean }).expose && (err as { status?: number }).status! < 500) {
        // Koa's own client errors (bad JSON body, payload too large).
        const status = (err as { status: number }).status;
        e = new ApiError(status, status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', (err as Error).message);
      } else {
        log.error({ id: ctx.state.requestId, err }, 'unexpected error');
        e = new ApiError(500, 'INTERNAL_ERROR', `Unexpected error; quote request id ${ctx.state.requestId} when reporting it.`);
      }
      ctx.status = e.status;
      ctx.set(e.headers);
      ctx.body = (ctx.state.errorFormat ?? ngwErrorFormat)(e, ctx);
    }
  };
}
