// /monitor/1/server: what nginx reports under /nginx — version, build, address, generation, times, pids.
import type { Context } from 'koa';
import { VERSION } from '../common/version.js';


export function serverInfo(ctx: Context, loadedAt: number) {
  return {
    version: VERSION,
    build: `node ${process.version}`,
    address: ctx.req.socket.localAddress ?? null,
    // nginx counts configuration reloads; Meridian reads its configuration once.
    generation: 1,
    load_timestamp: new Date(loadedAt).toISOString(),
    timestamp: new Date().toISOString(),
    pid: process.pid,
    ppid: process.ppid,
  };
}
