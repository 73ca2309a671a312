// The counting middleware: classifies each request into a zone and counts it, its response (class
// and code) or its discard, and the bytes received and sent. Plain number updates; one 'close'
// listener per request, the least that can see a response finish or a client go away.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Context, Next } from 'koa';
import { countSentBytes } from '../http/middleware.js';
import type { HttpCounters } from './counters.js';
import type { ZoneName } from './zones.js';

/** socket.bytesRead already counted for an earlier request on the same keep-alive connection. */
const READ = Symbol('bytesCounted');
type CountedSocket = Socket & { [READ]?: number };

/** Called once per finished tile request: latency, the X-Tile-Cache answer, body bytes sent. */
export type TileServed = (zone: ZoneName, seconds: number, cacheOutcome: unknown, sent: number) => void;

/**
 * Counts one request to `path` (begun at `started`, performance.now(), by default now); the function
 * it returns counts its response, given the body bytes sent, the X-Tile-Cache answer and whether
 * the response went out (by default: whether `res` finished, for a call once it has closed), or
 * its discard.
 */
export type CountRequest = (req: IncomingMessage, res: ServerResponse, path: string, started?: number) =>
  (sent: number, cacheOutcome: unknown, answered?: boolean) => void;

export function requestCounter(http: HttpCounters, tileServed: TileServed): CountRequest {
  return (req, res, path, started = performance.now()) => {
    // Taken now: a request stream destroyed by a failed pipeline (a body not gzip, or too large
    // once inflated) has its socket set to null before the response closes.
    const socket = req.socket as CountedSocket;
    const rule = http.classify(path);
    const zone = rule && http.zones.get(rule.zone);
    http.total++;
    http.current++;
    if (zone) { zone.requests++; zone.processing++; }
    return (sent, cacheOutcome, answered = res.writableFinished) => {
      http.current--;
      if (!zone) return;
      zone.processing--;
      zone.received += socket.bytesRead - (socket[READ] ?? 0);
      socket[READ] = socket.bytesRead;
      zone.sent += sent;
      // nginx counts a request closed before its response as discarded, not as a response.
      if (answered) zone.respond(res.statusCode);
      else zone.discarded++;
      if (rule.tile) tileServed(rule.zone, (performance.now() - started) / 1000, cacheOutcome, sent);
    };
  };
}

/** The counting middleware, for requests that go through Koa: one 'close' listener each. */
export function countRequests(count: CountRequest) {
  return (ctx: Context, next: Next) => {
    const counted = count(ctx.req, ctx.res, ctx.path);
    const sent = countSentBytes(ctx.res);
    ctx.res.once('close', () => counted(sent(), ctx.res.getHeader('x-tile-cache')));
    return next();
  };
}
