// /api/component/pyramid/pkg_version and /route, as NextGIS Web answers them. Clients read
// "nextgisweb" in pkg_version to learn what the API offers, and the route table to build URLs.
import type Router from '@koa/router';
import { VERSION } from '../common/version.js';
import { apiRouter } from '../http/router.js';
import type { RouteTable } from './route-table.js';

/**
 * The NextGIS Web release whose feature API Meridian's follows (paging, fld_ filters, order_by,
 * intersects, fields, extensions). GDAL's NGW driver pages and sends its filters to the server
 * only from 3.1; older, it asks for every feature unfiltered, and takes the answer as filtered.
 * GDAL 3.6 compares major, minor and patch each on its own (4.0.0 reads as older than 3.1), so
 * the minor is not 0.
 */
export const NGW_VERSION = '4.4.0';

/** `routes`: the table of every router's named routes, filled in once they all exist (app.ts). */
export function pyramidRoutes(routes: RouteTable): Router {
  const router = apiRouter();
  router.get('pyramid.pkg_version', '/api/component/pyramid/pkg_version', (ctx) => {
    ctx.body = { nextgisweb: NGW_VERSION, meridian: VERSION };
  });
  // ngw-connector adds ?client=NextGIS-NGW-Connector/{version}; NGW ignores it, and so does this.
  router.get('pyramid.route', '/api/component/pyramid/route', (ctx) => {
    ctx.body = routes;
  });
  return router;
}
