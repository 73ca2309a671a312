// Cross-cutting middleware: request ids, one structured log line per request (and the server's time
// in Server-Timing), and errors as JSON.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { ApiError, ngwErrorFormat, type ErrorFormat } from './errors.js';
import { StreamStalled } from './streaming.js';

declare module 'koa' {
  interface DefaultState {
    requestId: string;
    /** Set by an API area whose clients expect another error shape. */
    errorFormat?: ErrorFormat;
  }
}

const SAFE_ID = /^[\w.-]{1,64}$/;

/**
 * New request ids: one random UUID per process whose last 12 hex digits count its requests: unique
 * within the process by the count, across processes and restarts by the prefix's 74 random bits;
 * a fraction of a random UUID's cost each (a cached tile's whole answer takes a few µs).
 */
const ID_PREFIX = randomUUID().slice(0, 24);
let issued = 0;

/** The client's X-Request-Id when it is safe to log and echo, else a new one. */
export function requestIdOf(given: string | undefined): string {
  if (given && SAFE_ID.test(given)) return given;
  issued = (issued + 1) % 2 ** 48;
  return ID_PREFIX + issued.toString(16).padStart(12, '0');
}

export function requestId() {
  return async (ctx: Context, next: Next) => {
    ctx.state.requestId = requestIdOf(ctx.get('x-request-id'));
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

/** Milliseconds since `started` (performance.now()), to the microsecond. */
export const msSince = (started: number) => Math.round((performance.now() - started) * 1000) / 1000;

/** The server's own time on a request begun at `started` (routing to body ready), apart from the network's. */
export const serverTiming = (started: number) => `app;dur=${msSince(started)}`;

/** One structured line per request, once its response is over (nothing is built when info is off). */
export function logRequest(log: Logger, id: string, method: string, path: string, status: number, bytes: number, started: number): void {
  if (log.isLevelEnabled('info')) log.info({ id, method, path, status, bytes, ms: msSince(started) }, 'request');
}

export function requestLog(log: Logger) {
  return async (ctx: Context, next: Next) => {
    const started = performance.now();
    const sent = countSentBytes(ctx.res);
    // A client gone before its answer was written is logged as nginx logs it: 499.
    ctx.res.once('close', () => logRequest(log, ctx.state.requestId, ctx.method, ctx.path, ctx.res.writableFinished ? ctx.status : 499, sent(), started));
    await next();
    ctx.set('Server-Timing', serverTiming(started));
  };
}

function methodNotAllowed(ctx: Context): ApiError {
  const allow = ctx.response.get('Allow');
  return new ApiError(405, 'METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}${allow ? ` (allowed: ${allow})` : ''}.`);
}

/** Errors of a client going away mid-answer: nothing is wrong with the server. */
const CLIENT_GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

/**
 * Koa's 'error' listener: errors after the answer began (a streamed body failing), which Koa
 * would print as raw stacks. A client gone mid-answer is logged at debug, one that stopped
 * reading (StreamStalled) as a warning, anything else as an error, all as JSON lines.
 */
export function streamErrorLogger(log: Logger) {
  // Koa hears a body's failure twice: from its pipeline into the response, and as the response's
  // own error once the pipeline has destroyed it with that error.
  const heard = new WeakSet<Error>();
  return (err: Error & { code?: string }, ctx?: Context) => {
    if (heard.has(err)) return;
    heard.add(err);
    if (err.code && CLIENT_GONE.has(err.code)) log.debug({ id: ctx?.state.requestId, code: err.code }, 'client went away during the answer');
    else if (err instanceof StreamStalled) {
      log.warn({ id: ctx?.state.requestId, method: ctx?.method, path: ctx?.path, stalledMs: err.ms, bytes: ctx && countSentBytes(ctx.res)() },
        'answer ended: its client stopped reading');
    }
    // The parser refused the rest of the request (a broken chunked body): the client's fault, answered by client-error.ts.
    else if (err.code?.startsWith('HPE_')) log.info({ id: ctx?.state.requestId, code: err.code }, 'request refused by the HTTP parser during the answer');
    else log.error({ id: ctx?.state.requestId, err }, 'answer failed after it began');
  };
}

/** Errors become JSON in the area's format; unexpected ones are logged and answered 500. */
export function errorHandler(log: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.body === undefined || ctx.body === null) {
        if (ctx.status === 404) throw new ApiError(404, 'NOT_FOUND', `No endpoint at ${ctx.method} ${ctx.path}.`);
        // The router answers a known path with a wrong method by status alone (with an Allow header).
        if (ctx.status === 405 || ctx.status === 501) throw methodNotAllowed(ctx);
      }
    } catch (err) {
      let e: ApiError;
      if (err instanceof ApiError) e = err;
      else if ((err as { expose?: boolean }).expose && (err as { status?: number }).status! < 500) {
        // Koa's own client errors (bad JSON body, payload too large).
        const status = (err as { status: number }).status;
        e = new ApiError(status, status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', (err as Error).message);
      } else {
        log.error({ id: ctx.state.requestId, err }, 'unexpected error');
        e = new ApiError(500, 'INTERNAL_ERROR', `Unexpected error; quote request id ${ctx.state.requestId} when reporting it.`);
      }
      ctx.status = e.status;
      const headers = { ...e.headers };
      // A page's own scripts answer a 401 with their own login form (the viewer does): no Basic challenge for
      // them, or the browser would pop up its login dialog over the page.
      if (ctx.get('X-Requested-With') === 'XMLHttpRequest') delete headers['WWW-Authenticate'];
      ctx.set(headers);
      ctx.body = (ctx.state.errorFormat ?? ngwErrorFormat)(e, ctx);
    }
  };
}
