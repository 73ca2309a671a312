// The hook interface a Meridian server plugin sees. A plugin is a folder with a QGIS-style
// metadata.txt and an `index.js` (ES module) whose default export is called once at start:
//
//   export default function register(server) {
//     server.route('GET', '/hello', (ctx) => { ctx.body = { hello: 'world' }; });   // → GET /qgis/hello
//     server.filter(async (ctx, next) => { await next(); ctx.set('X-Seen-By', 'hello'); });
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
  /** Adds a request filter, run for every request in plugin load order. */
  filter(filter: PluginFilter): void;
}

export type RegisterPlugin = (server: PluginServer) => void | Promise<void>;
