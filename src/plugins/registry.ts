// Server plugins: each folder of the plugins directory is loaded at start; one that fails is
// recorded with its error and skipped, and the server runs on.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { apiRouter } from '../http/router.js';
import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { insideFolder } from '../common/paths.js';
import type { WorkerPool } from '../pool/pool.js';
import type { PluginFilter, PluginMethod, PluginServer, RegisterPlugin } from './api.js';
import { isServerPlugin, readMetadata, type PluginMetadata } from './metadata.js';

/** The entry module: `index.mjs`, or `index.js` when a package.json around it says "type": "module". */
const ENTRIES = ['index.mjs', 'index.js'];
const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);

export type PluginRecord =
  | { name: string; status: 'loaded'; path: string; metadata: PluginMetadata }
  | { name: string; status: 'failed'; path: string; error_log: string; metadata?: PluginMetadata };

export class Plugins {
  readonly records = new Map<string, PluginRecord>();
  /** Routes plugins added, all under /qgis/. */
  readonly router = apiRouter({ prefix: '/qgis' });
  private readonly filters: PluginFilter[] = [];
  /** Plugins with a filter that wants anonymous tile requests too: while any is loaded, those go through Koa. */
  readonly filteringAnonymousTiles: string[] = [];

  private constructor(private readonly log: Logger, private readonly pool: WorkerPool) {}

  static async load(dir: string, log: Logger, pool: WorkerPool): Promise<Plugins> {
    const plugins = new Plugins(log, pool);
    if (!existsSync(dir)) {
      log.info({ dir }, 'no plugins folder');
      return plugins;
    }
    const folders = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    for (const name of folders) await plugins.loadOne(name, join(dir, name));
    return plugins;
  }

  /** Runs the plugins' filters around the rest of the request. */
  middleware() {
    return (ctx: Context, next: Next) => {
      const run = (i: number): Promise<unknown> => (i < this.filters.length ? this.filters[i](ctx, () => run(i + 1)) : next());
      return run(0);
    };
  }

  private async loadOne(name: string, folder: string): Promise<void> {
    const path = join(folder, ENTRIES.find((e) => existsSync(join(folder, e))) ?? ENTRIES[0]);
    let metadata: PluginMetadata | undefined;
    // Routes and filters are kept aside until register() succeeds, so a failed plugin leaves nothing behind.
    const routes: [PluginMethod, string, Parameters<PluginServer['route']>[2]][] = [];
    const filters: PluginFilter[] = [];
    let wantsAnonymousTiles = false;
    const tasks = new Map<string, string>();
    const poolTask = (task: string) => `plugin:${name}:${task}`;
    const { pool } = this;
    try {
      metadata = await readMetadata(join(folder, 'metadata.txt'));
      if (!isServerPlugin(metadata)) throw new Error('not a server plugin (metadata.txt [general] server is not True)');
      const module = await import(pathToFileURL(path).href);
      const register: RegisterPlugin = module.default;
      if (typeof register !== 'function') throw new Error(`${path} has no default export function`);
      const log = this.log.child({ plugin: name });
      await register({
        metadata, log,
        route(method, routePath, handler) {
          if (!METHODS.has(method)) throw new Error(`route method "${method}" is not one of ${[...METHODS].join(', ')}`);
          if (!routePath.startsWith('/') || routePath.split('/').includes('..')) throw new Error(`route path "${routePath}" must start with / and stay under /qgis/`);
          routes.push([method, routePath, handler]);
        },
        filter(f, options) {
          filters.push(f);
          if (options?.anonymousTiles !== false) wantsAnonymousTiles = true;
        },
        task(task, module) { tasks.set(task, pathToFileURL(insideFolder(folder, module)).href); },
        run(task, payload) {
          if (!tasks.has(task)) return Promise.reject(new Error(`plugin ${name} has no task "${task}"`));
          return pool.run(poolTask(task), payload);
        },
      });
    } catch (e) {
      const error_log = (e as Error)?.stack ?? String(e);
      this.records.set(name, { name, status: 'failed', path, error_log, ...(metadata ? { metadata } : {}) });
      this.log.error({ plugin: name, err: e }, 'plugin failed to load');
      return;
    }
    for (const [method, routePath, handler] of routes) {
      this.router.register(routePath, [method], async (ctx: Context) => { await handler(ctx); });
    }
    this.filters.push(...filters);
    if (wantsAnonymousTiles) this.filteringAnonymousTiles.push(name);
    for (const [task, module] of tasks) this.pool.register(poolTask(task), module);
    this.records.set(name, { name, status: 'loaded', path, metadata: metadata! });
    this.log.info({ plugin: name, version: metadata!.general.version, routes: routes.length, filters: filters.length }, 'plugin loaded');
  }
}
