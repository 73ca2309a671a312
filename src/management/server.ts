// The management port: the management API alone, bound to 127.0.0.1 by default, as py-qgis-server serves it.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import Koa from 'koa';
import { createApiServer } from '../http/client-error.js';
import { errorHandler, requestId, requestLog } from '../http/middleware.js';
import type { Services } from '../services.js';
import { managementPortGuard } from './access.js';
import { managementErrors } from './errors.js';
import { managementRouters } from './routes.js';

function rootRoutes(): Router {
  const router = apiRouter();
  router.get('/', (ctx) => {
    const link = (path: string, title: string) => ({ href: `${ctx.protocol}://${ctx.host}${path}`, title, type: 'application/json' });
    ctx.body = { links: [link('/plugins', 'Plugins management'), link('/cache', 'Projects cache management'), link('/pool', 'Workers pool status')] };
  });
  return router;
}

export interface ManagementServer {
  server: Server;
  url: string;
}

export async function startManagementServer(services: Services, port: number, host: string): Promise<ManagementServer> {
  const app = new Koa();
  app.use(requestId());
  app.use(requestLog(services.log));
  app.use(managementErrors());
  app.use(errorHandler(services.log));
  for (const router of [rootRoutes(), ...managementRouters(services, managementPortGuard)]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  const server = createApiServer(app.callback(), services.log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const { port: bound } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  services.log.info({ url }, 'management API listening');
  return { server, url };
}
