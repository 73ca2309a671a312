// The Koa application: cross-cutting middleware, then one router per API area.
import type { RequestListener } from 'node:http';
import Koa from 'koa';
import { farmErrorArea } from './farm/routes/router.js';
import { farmRouters } from './farm/routes/routers.js';
import { areaErrorFormats } from './http/area-errors.js';
import { resolveCaller } from './http/auth.js';
import { errorHandler, requestId, requestLog, streamErrorLogger } from './http/middleware.js';
import { requireAdministratorOnPublicPort } from './management/access.js';
import { managementErrorArea, managementRouters } from './management/routes.js';
import { monitorScope } from './monitor/access.js';
import { nginxErrorFormat } from './monitor/errors.js';
import { countRequests, requestCounter, type CountRequest } from './monitor/count.js';
import { refuseDenied } from './monitor/keyvals.js';
import { createMetrics, type Metrics } from './monitor/prometheus.js';
import { principalRoutes } from './routes/auth-principals.js';
import { sessionRoutes } from './routes/auth-session.js';
import { exportRoutes } from './routes/export.js';
import { featureRoutes } from './routes/feature.js';
import { identifyRoutes } from './routes/identify.js';
import { monitorRoutes } from './routes/monitor.js';
import { mvtRoutes } from './routes/mvt.js';
import { anonymousTilesFirst } from './routes/mvt-anonymous.js';
import { permissionRoutes } from './routes/permission.js';
import { pyramidRoutes } from './routes/pyramid.js';
import { renderRoutes } from './routes/render.js';
import { resourceRoutes } from './routes/resource.js';
import { ngwRouteTable, type RouteTable } from './routes/route-table.js';
import { viewerRoutes } from './routes/viewer.js';
import type { Services } from './services.js';

/** The server's request listener: anonymous tiles before Koa (routes/mvt-anonymous.ts), the rest through it. */
export function createRequestListener(services: Services): RequestListener {
  const metrics = services.config.monitor ? createMetrics(services.monitor) : undefined;
  const { monitor } = services;
  const count = metrics && requestCounter(monitor.http, (zone, seconds, outcome, sent) => {
    metrics.observeTile(zone, seconds);
    monitor.tileServed(seconds, outcome, sent);
  });
  return anonymousTilesFirst(services, createApp(services, metrics, count).callback(), count);
}

function createApp(services: Services, metrics?: Metrics, count?: CountRequest): Koa {
  const app = new Koa();
  app.on('error', streamErrorLogger(services.log));
  // Behind nginx, the client's address (login throttling) and scheme (secure cookies) come from its headers.
  app.proxy = services.config.trustProxy;
  if (count) app.use(countRequests(count));
  app.use(requestId());
  app.use(requestLog(services.log));
  app.use(errorHandler(services.log));
  app.use(areaErrorFormats([
    farmErrorArea, managementErrorArea,
    ...(metrics ? [{ prefixes: [services.config.monitorPath], format: nginxErrorFormat }] : []),
  ]));
  app.use(resolveCaller(services));
  if (metrics) {
    app.use(monitorScope(services.config));
    app.use(refuseDenied(services.monitor.keyvals.get('denylist')!, `${services.config.monitorPath}/1/http/keyvals/denylist`));
  }
  // Plugin filters run after the caller is known, so they may look at ctx.state.user.
  app.use(services.plugins.middleware());
  // Tiles first: they are most of the requests, and each router before them tries its own routes.
  const routeTable: RouteTable = {};
  const routers = [mvtRoutes(services), resourceRoutes(services), featureRoutes(services), exportRoutes(services),
    sessionRoutes(services), principalRoutes(services), permissionRoutes(services),
    identifyRoutes(services), renderRoutes(services), pyramidRoutes(routeTable), ...farmRouters(services), ...managementRouters(services, requireAdministratorOnPublicPort), services.plugins.router];
  if (metrics) routers.push(monitorRoutes(services, metrics));
  Object.assign(routeTable, ngwRouteTable(routers));
  // The viewer asks which optional APIs exist here, so it can hide what is missing instead of failing on it.
  const hasRoute = (method: string, path: string) => routers.some((r) => r.match(path, method).route);
  for (const router of [...routers, viewerRoutes(hasRoute)]) {
    app.use(router.routes());
    app.use(router.allowedMethods()); // sets 405 + Allow; errorHandler turns it into JSON
  }
  return app;
}
