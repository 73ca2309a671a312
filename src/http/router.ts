// Every router of the server: paths are case-sensitive, as NextGIS Web's, py-qgis-server's and
// nginx's are. With @koa/router's default, routes matched any case while a prefixed router's
// middleware (an administrator check) matched only the case written, so /API/… skipped the check.
import Router, { type RouterOptions } from '@koa/router';

export function apiRouter(options: RouterOptions = {}): Router {
  return new Router({ ...options, sensitive: true });
}
