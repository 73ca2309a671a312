// The hook interface a Meridian server plugin sees. A plugin is a folder with a QGIS-style
// metadata.txt and an `index.mjs` ES module (or `index.js` under a package.json with "type": "module")
// whose default export is called once at start:
//
//   export default function register(server) {
//     server.route('GET', '/hello', (ctx) => { ctx.body = { hello: 'world' }; });   // → GET /qgis/hello
//     server.filter(async (ctx, next) => { await next(); ctx.set('X-Seen-By', 'hello'); }, { anonymousTiles: false });
//     server.task('heavy', './heavy.mjs');                    // CPU work runs in the worker pool:
//     server.route('GET', '/heavy', async (ctx) => { ctx.body = await server.run('heavy', ctx.query); });
//   }
//
// Throwing (or rejecting) from register marks the plugin failed; the server runs on without it.
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';

export type PluginMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

/** Koa context: read ctx.query / ctx.request, set ctx.status / ctx.body / headers. */
export type PluginHandler = (ctx: Context) => unknown | Promise<unknown>;

/** Runs around every request, like a QGIS server filter: before `next()` is onRequestReady, after it onResponseComplete. */
export type PluginFilter = (ctx: Context, next: Next) => Promise<unknown>;

export interface PluginServer {
  /** The plugin's metadata.txt, sections and keys as QGIS reads them. */
  readonly metadata: Record<string, Record<string, string>>;
  /** A child of the server log, tagged with the plugin name. */
  readonly log: Logger;
  /** Adds a route under /qgis/: `path` is relative to it (`/hello` → `/qgis/hello`). */
  route(method: PluginMethod, path: string, handler: PluginHandler): void;
  /**
   * Adds a request filter, run for every request in plugin load order. `anonymousTiles: false` lets
   * MVT tiles asked anonymously skip it: those are then answered before Koa, several times cheaper
   * (routes/mvt-anonymous.ts). While any loaded filter keeps the default, every request goes through Koa.
   */
  filter(filter: PluginFilter, options?: { anonymousTiles?: boolean }): void;
  /**
   * Declares a task run in the worker pool: `module` is a path inside the plugin's folder whose default
   * export is a TaskHandler (src/pool/protocol.ts) taking the payload and returning a cloneable result.
   */
  task(name: string, module: string): void;
  /** Runs one of the plugin's tasks in a pool worker; a worker that dies rejects with a 503 ApiError. */
  run<T = unknown>(name: string, payload: unknown): Promise<T>;
}

export type RegisterPlugin = (server: PluginServer) => void | Promise<void>;
