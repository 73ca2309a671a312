// The management API's routers, mounted on the public app (administrators only) and on the management port.
import type Router from '@koa/router';
import type { Services } from '../services.js';
import type { ErrorArea } from '../http/area-errors.js';
import type { ManagementGuard } from './access.js';
import { cacheRoutes } from './cache-routes.js';
import { managementErrorFormat } from './errors.js';
import { pluginRoutes } from './plugin-routes.js';
import { poolRoutes } from './pool-routes.js';

/** The management API's paths on the public port, which answer errors in py-qgis-server's shape (app.ts). */
export const managementErrorArea: ErrorArea = { prefixes: ['/cache', '/pool', '/plugins'], format: managementErrorFormat };

export function managementRouters(services: Services, guard: ManagementGuard): Router[] {
  return [cacheRoutes(services, guard), poolRoutes(services, guard), pluginRoutes(services, guard)];
}
