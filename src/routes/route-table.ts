// NextGIS Web's route table (/api/component/pyramid/route): route name → [URL template with {0},
// {1}… for the path parameters, then their names]. NGW's clients (@nextgis/ngw-connector) read it
// first and build every URL from it by name. It is read off the routers themselves: a route that
// carries an NGW name (router.get('resource.item', '/api/resource/:id', …)) is listed, so the table
// cannot name a route that is not served, nor miss one that is renamed.
import type Router from '@koa/router';

/** Route name → [template, ...parameter names], as NGW answers it. */
export type RouteTable = Record<string, string[]>;

const PARAM = /:(\w+)/g;

export function ngwRouteTable(routers: Router[]): RouteTable {
  const table: RouteTable = {};
  for (const router of routers) {
    for (const layer of router.stack) {
      if (!layer.name || typeof layer.path !== 'string') continue;
      const names: string[] = [];
      const template = layer.path.replace(PARAM, (_, name: string) => `{${names.push(name) - 1}}`);
      const entry = [template, ...names];
      const known = table[layer.name];
      // One name may be given to several methods (GET and POST …/current_user), never to two URLs.
      if (known && known.join(' ') !== entry.join(' ')) {
        throw new Error(`route name ${layer.name} is given to ${known[0]} and to ${template}`);
      }
      table[layer.name] = entry;
    }
  }
  return table;
}
