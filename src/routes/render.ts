// NextGIS Web render API: /api/component/render/tile, /api/component/render/image and the
// deprecated /resource/{id}/tms, PNG images of styles composited lower to upper.
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import type { Context } from 'koa';
import { clientGone } from '../http/client-gone.js';
import { badParameter } from '../http/errors.js';
import { decimal, resourceListParam, single } from '../http/params.js';
import { RENDER_DPI } from '../render/frame.js';
import { EMPTY_TILE, transparentPng } from '../render/png.js';
import { styledLayers } from '../render/service.js';
import { LayerSelection } from '../qgis/project-resource.js';
import { tileAddress } from '../tiles/address.js';
import { tileKey } from '../tiles/cache.js';
import { matches, storeHeader, tileFor, wantsBypass } from '../tiles/respond.js';
import { tileEtag } from '../tiles/etag.js';
import type { Frame } from '../render/units.js';
import type { Services } from '../services.js';

const MAX_IMAGE_SIDE = 4096;

function q(ctx: Context, name: string): string | undefined {
  return single(ctx.query[name] as string | string[] | undefined);
}

function numbers(ctx: Context, name: string, count: number): number[] {
  const text = q(ctx, name);
  if (!text) throw badParameter(name, 'is required');
  const values = text.split(',').map((s) => decimal(s.trim()));
  if (values.length !== count || values.some((v) => !Number.isFinite(v))) throw badParameter(name, `must be ${count} numbers separated by commas`);
  return values;
}

function imageFrame(ctx: Context): Frame {
  const [minx, miny, maxx, maxy] = numbers(ctx, 'extent', 4);
  if (!(minx < maxx && miny < maxy)) throw badParameter('extent', 'must be minx,miny,maxx,maxy with min < max');
  const [width, height] = numbers(ctx, 'size', 2);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw badParameter('size', 'must be two positive integers');
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) throw badParameter('size', `must be at most ${MAX_IMAGE_SIDE}×${MAX_IMAGE_SIDE}`);
  return { width, height, dpi: RENDER_DPI, extent: [minx, miny, maxx, maxy] };
}

function emptyMode(ctx: Context): 200 | 204 {
  const nd = q(ctx, 'nd');
  if (nd === undefined || nd === '' || nd === '200') return 200;
  if (nd === '204') return 204;
  throw badParameter('nd', 'must be 200 or 204');
}

function sendPng(ctx: Context, services: Services, png: Buffer, etag = tileEtag(png)): void {
  ctx.set('Cache-Control', services.config.tileCacheControl);
  ctx.set('ETag', etag);
  const ifNoneMatch = ctx.get('If-None-Match');
  if (ifNoneMatch && matches(ifNoneMatch, etag)) {
    ctx.status = 304;
    return;
  }
  ctx.type = 'image/png';
  ctx.body = png;
}

export function renderRoutes(services: Services): Router {
  const router = apiRouter();

  const tile = async (ctx: Context, ids: string[], idParam: string, nd: 200 | 204) => {
    const at = tileAddress(q(ctx, 'z'), q(ctx, 'x'), q(ctx, 'y'));
    const select = LayerSelection.parse(q(ctx, 'layers'));
    const layers = await styledLayers(ctx, services, ids, idParam, select);
    // Keyed by the requested resources: a project stands for however many layers it has now.
    const resources = ids.map(Number);
    const key = tileKey({ format: 'png', resources, ...at, params: select && `layers=${select.names.join(',')}` });
    const madeFrom = [...new Set([...resources, ...layers.map((l) => l.layerEntry.id)])];
    // Like MVT tiles: memory cache, then the disk store (whole resources only; skipped on a bypass), then rendering.
    // An empty tile is cached (and stored) as an empty body and answered from the one shared PNG.
    const found = await tileFor(services, key, madeFrom, (_atOnce, signal) => services.renderer.tile(layers, at, signal), {
      stored: select ? undefined : { format: 'png', resources, ...at }, bypass: wantsBypass(ctx), client: ctx.res,
    });
    ctx.set('X-Tile-Cache', found.outcome);
    const store = storeHeader(found);
    if (store) ctx.set('X-Tile-Store', store);
    const cached = found.tile;
    if (cached.body.length) return sendPng(ctx, services, cached.body, cached.etag);
    if (nd === 200) return sendPng(ctx, services, EMPTY_TILE);
    ctx.set('Cache-Control', services.config.tileCacheControl);
    ctx.status = 204;
  };

  router.get('render.tile', '/api/component/render/tile', async (ctx) => {
    // ";" separates parameters as "&" does, as in the Python servers NGW ran on: GDAL's NGW driver
    // (3.6) escapes its tile URL for XML twice, and sends z=0&amp;x=0&amp;y=0&amp;resource=3.
    if (ctx.querystring.includes(';')) ctx.querystring = ctx.querystring.replaceAll(';', '&');
    const nd = emptyMode(ctx);
    await tile(ctx, resourceListParam(q(ctx, 'resource')), 'resource', nd);
  });

  router.get('/resource/:id/tms', async (ctx) => {
    await tile(ctx, [ctx.params.id], 'id', 200);
  });

  router.get('render.image', '/api/component/render/image', async (ctx) => {
    const frame = imageFrame(ctx);
    const layers = await styledLayers(ctx, services, resourceListParam(q(ctx, 'resource')), 'resource', LayerSelection.parse(q(ctx, 'layers')));
    const png = await services.renderer.image(layers, frame, clientGone(ctx.res));
    sendPng(ctx, services, png ?? transparentPng(frame.width, frame.height));
  });

  return router;
}
