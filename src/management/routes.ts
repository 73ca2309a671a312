// The management API's routers, mounted on the public app (administrators only) and on the management port.
import type Router from '@koa/router';
import type { Services } from '../services.js';
import type { ManagementGuard } from './access.js';
import { cacheRoutes } from './cache-routes.js';
import { pluginRoutes } from './plugin-routes.js';
import { poolRoutes } from './pool-routes.js';

export function managementRouters(services: Services, guard: ManagementGuard): Router[] {
  return [cacheRoutes(services, guard), poolRoutes(services, guard), pluginRoutes(services, guard)];
}
