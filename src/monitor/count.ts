// The counting middleware: classifies each request into a zone and counts it, its response (class
// and code) or its discard, and the bytes received and sent. Plain number updates; one 'close'
// listener per request, the least that can see a response finish or a client go away.
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

export function countRequests(http: HttpCounters, tileServed: TileServed) {
  return (ctx: Context, next: Next) => {
    const rule = http.classify(ctx.path);
    const zone = rule && http.zones.get(rule.zone);
    const started = rule?.tile ? performance.now() : 0;
    const sent = countSentBytes(ctx.res);
    http.total++;
    http.current++;
    if (zone) { zone.requests++; zone.processing++; }
    ctx.res.once('close', () => {
      http.current--;
      if (!zone) return;
      zone.processing--;
      const socket = ctx.req.socket as CountedSocket;
      zone.received += socket.bytesRead - (socket[READ] ?? 0);
      socket[READ] = socket.bytesRead;
      const bytes = sent();
      zone.sent += bytes;
      // nginx counts a request closed before its response as discarded, not as a response.
      if (ctx.res.writableFinished) zone.respond(ctx.res.statusCode);
      else zone.discarded++;
      if (started) tileServed(rule.zone, (performance.now() - started) / 1000, ctx.res.getHeader('x-tile-cache'), bytes);
    });
    return next();
  };
}
