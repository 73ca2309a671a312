// /monitor/1/server: what nginx reports under /nginx — version, build, address, generation, times, pids.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Context } from 'koa';

/** Meridian's version from its package.json, found upwards from this file (src/ or dist/src/). */
function packageVersion(): string {
  for (let dir = import.meta.dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'meridian') return pkg.version;
    } catch { /* not here: look further up */ }
  }
  return 'unknown';
}

const VERSION = packageVersion();

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
