// The farm API's routers (/farm/api/v3/...), administrators only.
import type Router from '@koa/router';
import type { Services } from '../../services.js';
import { infoRoutes } from './info.js';
import { jobRoutes } from './jobs.js';
import { workerRoutes } from './workers.js';

export function farmRouters(services: Services): Router[] {
  return [jobRoutes(services, services.farm), workerRoutes(services.farm), infoRoutes(services, services.farm)];
}
