// The Koa application: cross-cutting middleware, then one router per API area.
import Koa from 'koa';
import { errorHandler, requestId, requestLog } from './http/middleware.js';
import { exportRoutes } from './routes/export.js';
import { featureRoutes } from './routes/feature.js';
import { mvtRoutes } from './routes/mvt.js';
import { renderRoutes } from './routes/render.js';
import { resourceRoutes } from './routes/resource.js';
import type { Services } from './services.js';

export function createApp(services: Services): Koa {
  const app = new Koa();
  app.proxy = false;
  app.use(requestId());
  app.use(requestLog(services.log));
  app.use(errorHandler(services.log));
  for (const router of [
    resourceRoutes(services), featureRoutes(services), exportRoutes(services), mvtRoutes(services), renderRoutes(services),
  ]) {
    app.use(router.routes());
    app.use(router.allowedMethods()); // sets 405 + Allow; errorHandler turns it into JSON
  }
  return app;
}
