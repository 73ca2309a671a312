// /api/component/pyramid/pkg_version: the versions of the packages the server runs, as NextGIS Web
// answers it. Clients read "nextgisweb" to learn what the API offers.
import type Router from '@koa/router';
import { VERSION } from '../common/version.js';
import { apiRouter } from '../http/router.js';

/**
 * The NextGIS Web release whose feature API Meridian's follows (paging, fld_ filters, order_by,
 * intersects, fields, extensions). GDAL's NGW driver pages and sends its filters to the server
 * only from 3.1; older, it asks for every feature unfiltered, and takes the answer as filtered.
 * GDAL 3.6 compares major, minor and patch each on its own (4.0.0 reads as older than 3.1), so
 * the minor is not 0.
 */
export const NGW_VERSION = '4.4.0';

export function pyramidRoutes(): Router {
  const router = apiRouter();
  router.get('/api/component/pyramid/pkg_version', (ctx) => {
    ctx.body = { nextgisweb: NGW_VERSION, meridian: VERSION };
  });
  return router;
}
