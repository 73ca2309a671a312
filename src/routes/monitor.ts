// {monitorPath}/ (default /monitor): live statistics in the manner of the nginx Plus API
// (server, processes, connections, http/…) and Glances (status, pluginslist, /{plugin}/{field}/{value}),
// plus GET /metrics for Prometheus. Access, write and version rules: monitor/access.ts.
import { bodyParser } from '@koa/bodyparser';
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import type { Context } from 'koa';
import { ApiError } from '../http/errors.js';
import { single } from '../http/params.js';
import { VERSIONS } from '../monitor/access.js';
import { notFound, pathNotFound } from '../monitor/errors.js';
import type { Metrics } from '../monitor/prometheus.js';
import { createPlugins } from '../monitor/plugins.js';
import { fieldOf, itemsWhere, selectFields } from '../monitor/select.js';
import { serverInfo } from '../monitor/server-info.js';
import type { ZoneName } from '../monitor/zones.js';
import type { Services } from '../services.js';

const BODY_LIMIT = '64kb';

/** Answers a GET, narrowed by `fields=` (after toJSON, so counters classes are seen as they are served). */
function answer(ctx: Context, value: unknown, collection = false): void {
  ctx.body = selectFields(JSON.parse(JSON.stringify(value)), single(ctx.query.fields as string | string[] | undefined), collection);
}

function found<T>(value: T | undefined, code: string, what: string): T {
  if (value === undefined) throw notFound(code, what);
  return value;
}

function reset(ctx: Context, action: () => void): void {
  action();
  ctx.status = 204;
}

const parseJson = bodyParser({
  enableTypes: ['json'],
  jsonLimit: BODY_LIMIT,
  onError(err: Error & { status?: number }): never {
    if (err.status === 413) throw new ApiError(413, 'RequestEntityTooLarge', `The body is larger than ${BODY_LIMIT}.`);
    throw new ApiError(415, 'JsonError', `The body is not valid JSON: ${err.message}`);
  },
});

/** A JSON request body; anything else is nginx's JsonError. */
async function jsonBody(ctx: Context): Promise<unknown> {
  if (!ctx.is('application/json')) throw new ApiError(415, 'JsonError', 'The body must be JSON (Content-Type: application/json).');
  await parseJson(ctx, async () => {});
  return ctx.request.body;
}

export function monitorRoutes(services: Services, metrics: Metrics): Router {
  const { monitor, config } = services;
  const { http, connections, keyvals } = monitor;
  const plugins = createPlugins(monitor, services.catalog);
  const v = `${config.monitorPath}/1`;
  // Paths are declared without a trailing slash: the router then takes both forms, as nginx does.
  const router = apiRouter();

  const zoneOf = (name: string) => found(http.zones.get(name as ZoneName), 'ServerZoneNotFound', `Server zone "${name}"`);
  const cacheOf = (name: string) => found(monitor.cache(name), 'CacheNotFound', `Cache "${name}"`);
  const keyvalOf = (name: string) => found(keyvals.get(name), 'KeyvalNotFound', `Keyval zone "${name}"`);
  const pluginOf = async (ctx: Context) => {
    const plugin = plugins.get(ctx.params.plugin);
    if (!plugin) throw pathNotFound(ctx.path);
    return plugin();
  };

  router.get(config.monitorPath, (ctx) => { ctx.body = VERSIONS; });
  router.get(v, (ctx) => { ctx.body = ['server', 'processes', 'connections', 'http', 'status', 'pluginslist', ...plugins.keys()]; });
  router.get(`${v}/server`, (ctx) => answer(ctx, serverInfo(ctx, monitor.loadedAt)));
  router.get(`${v}/processes`, (ctx) => answer(ctx, { respawned: monitor.respawned() }));
  router.delete(`${v}/processes`, (ctx) => reset(ctx, () => monitor.resetRespawned()));
  router.get(`${v}/connections`, (ctx) => answer(ctx, connections.toJSON(http.current)));
  router.delete(`${v}/connections`, (ctx) => reset(ctx, () => connections.reset()));

  router.get(`${v}/http`, (ctx) => { ctx.body = ['requests', 'server_zones', 'caches', 'keyvals']; });
  router.get(`${v}/http/requests`, (ctx) => answer(ctx, http.requestsJSON()));
  router.delete(`${v}/http/requests`, (ctx) => reset(ctx, () => { http.total = 0; }));
  router.get(`${v}/http/server_zones`, (ctx) => answer(ctx, Object.fromEntries(http.zones), true));
  router.get(`${v}/http/server_zones/:zone`, (ctx) => answer(ctx, zoneOf(ctx.params.zone)));
  router.delete(`${v}/http/server_zones/:zone`, (ctx) => reset(ctx, () => zoneOf(ctx.params.zone).reset()));
  router.get(`${v}/http/caches`, (ctx) => answer(ctx, Object.fromEntries(monitor.cacheNames().map((n) => [n, monitor.cache(n)])), true));
  router.get(`${v}/http/caches/:cache`, (ctx) => answer(ctx, cacheOf(ctx.params.cache)));
  router.delete(`${v}/http/caches/:cache`, (ctx) => reset(ctx, () => { cacheOf(ctx.params.cache); monitor.resetCache(ctx.params.cache); }));

  router.get(`${v}/http/keyvals`, (ctx) => answer(ctx, Object.fromEntries(keyvals), true));
  router.get(`${v}/http/keyvals/:zone`, (ctx) => {
    const zone = keyvalOf(ctx.params.zone);
    const key = single(ctx.query.key as string | string[] | undefined);
    ctx.body = key === undefined ? zone : zone.get(key);
  });
  router.post(`${v}/http/keyvals/:zone`, async (ctx) => {
    const zone = keyvalOf(ctx.params.zone);
    zone.add(await jsonBody(ctx));
    ctx.status = 201;
    ctx.body = '';
  });
  router.patch(`${v}/http/keyvals/:zone`, async (ctx) => {
    const zone = keyvalOf(ctx.params.zone);
    zone.change(await jsonBody(ctx));
    ctx.status = 204;
  });
  router.delete(`${v}/http/keyvals/:zone`, (ctx) => reset(ctx, () => keyvalOf(ctx.params.zone).entries.clear()));

  // Glances: status answers 200 with an empty body when the API is up.
  router.get(`${v}/status`, (ctx) => { ctx.status = 200; ctx.body = ''; });
  router.get(`${v}/pluginslist`, (ctx) => { ctx.body = [...plugins.keys()]; });
  router.get(`${v}/:plugin`, async (ctx) => answer(ctx, await pluginOf(ctx)));
  router.get(`${v}/:plugin/:field`, async (ctx) => { ctx.body = fieldOf(await pluginOf(ctx), ctx.params.field); });
  router.get(`${v}/:plugin/:field/:value`, async (ctx) => { ctx.body = itemsWhere(await pluginOf(ctx), ctx.params.field, ctx.params.value); });

  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.exposition();
  });
  return router;
}
