// The Koa application: cross-cutting middleware, then one router per API area.
import Koa from 'koa';
import { resolveCaller } from './http/auth.js';
import { errorHandler, requestId, requestLog } from './http/middleware.js';
import { principalRoutes } from './routes/auth-principals.js';
import { sessionRoutes } from './routes/auth-session.js';
import { exportRoutes } from './routes/export.js';
import { featureRoutes } from './routes/feature.js';
import { mvtRoutes } from './routes/mvt.js';
import { permissionRoutes } from './routes/permission.js';
import { renderRoutes } from './routes/render.js';
import { resourceRoutes } from './routes/resource.js';
import type { Services } from './services.js';

export function createApp(services: Services): Koa {
  const app = new Koa();
  app.proxy = false;
  app.use(requestId());
  app.use(requestLog(services.log));
  app.use(errorHandler(services.log));
  app.use(resolveCaller(services));
  for (const router of [resourceRoutes(services), featureRoutes(services), exportRoutes(services),
    sessionRoutes(services), principalRoutes(services), permissionRoutes(services), mvtRoutes(services), renderRoutes(services)]) {
    app.use(router.routes());
    app.use(router.allowedMethods()); // sets 405 + Allow; errorHandler turns it into JSON
  }
  return app;
}
