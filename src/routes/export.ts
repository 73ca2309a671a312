// /api/resource/{id}/geojson, /csv and /qml: whole-layer exports, streamed feature by feature.
import { readFile } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import type Router from '@koa/router';
import { apiRouter } from '../http/router.js';
import { stringify } from 'csv-stringify';
import type { Context } from 'koa';
import yazl from 'yazl';
import type { ResourceEntry } from '../catalog/types.js';
import { insideFolder } from '../common/paths.js';
import { clientGone } from '../http/client-gone.js';
import { ApiError, badParameter } from '../http/errors.js';
import { intersectsArea, jsonValue, outputProjector, toWkt } from '../http/features.js';
import { boolParam, fieldsParam, single, srsParam } from '../http/params.js';
import { jsonArray, streamedBody } from '../http/streaming.js';
import { featureLayerOf, resourceFor } from '../http/resources.js';
import type { Services } from '../services.js';
import type { Feature, FeatureLayer, FieldDef } from '../store/types.js';

interface ExportRequest {
  entry: ResourceEntry;
  layer: FeatureLayer;
  fields: FieldDef[];
  srs: number;
  features: AsyncGenerator<Feature>;
}

function q(ctx: Context, name: string): string | undefined {
  return single(ctx.query[name] as string | string[] | undefined);
}

/**
 * The options every export shares: srs (default 4326), fields, intersects (WKT in srs); `check`
 * sees the fields exported. Read once the caller may read the data (as NGW, a refusal comes
 * before any complaint about parameters); the features are not read until the answer starts. The features are read from the answer's first chunk on, which
 * closes them however it ends (see streamedBody). A client that leaves stops the source's query,
 * also one still reading its first batch.
 */
async function exportRequest(services: Services, ctx: Context, check?: (fields: FieldDef[]) => void): Promise<ExportRequest> {
  const entry = resourceFor(ctx, services, ctx.params.id, 'data.read');
  const layer = await featureLayerOf(services, entry);
  const srs = srsParam(q(ctx, 'srs'), 4326);
  const wanted = fieldsParam(q(ctx, 'fields'), layer.schema.fields.map((f) => f.keyname));
  const fields = layer.schema.fields.filter((f) => wanted.includes(f.keyname));
  const area = intersectsArea(q(ctx, 'intersects'), srs);
  check?.(fields);
  return { entry, layer, srs, fields, features: layer.features({ area, signal: clientGone(ctx.res) }) };
}

function fileName(entry: ResourceEntry, ext: string): string {
  return `${(entry.keyname ?? `resource_${entry.id}`).replace(/[^\w.-]/g, '_')}.${ext}`;
}

const zippedParam = (ctx: Context) => boolParam(q(ctx, 'zipped'), 'zipped', false);

/** Sends `text`, made from `r`'s features, as a download (zipped on request); the features end with it (streamedBody). */
async function sendFile(services: Services, ctx: Context, r: ExportRequest, text: AsyncIterable<string>, name: string, type: string, zipped: boolean): Promise<void> {
  const body = await streamedBody(r.features, text, services.config.streamStallTimeoutMs);
  if (zipped) {
    const zip = new yazl.ZipFile();
    zip.addReadStream(body, name);
    zip.end();
    // Koa destroys the response body when the client goes away; stop producing features too.
    zip.outputStream.once('close', () => body.destroy());
    // Only piped into the zip, the body's failure (its database lost mid-stream) would go unheard
    // and stop the process: it ends the zip, whose error Koa hears (the download is cut short).
    body.once('error', (err) => (zip.outputStream as Readable).destroy(err));
    ctx.type = 'application/zip';
    ctx.attachment(name.replace(/\.\w+$/, '.zip'));
    ctx.body = zip.outputStream;
  } else {
    ctx.type = type;
    ctx.attachment(name, { type: 'attachment' });
    ctx.body = body;
  }
}

function geojsonText(r: ExportRequest, fidName: string | undefined): AsyncGenerator<string> {
  const project = outputProjector(r.srs);
  const crs = r.srs === 4326 ? '' : `"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::${r.srs}"}},`;
  return jsonArray(r.features, (f) => {
    // No prototype: a field (or fid) named "__proto__" is a property like any other.
    const properties: Record<string, unknown> = Object.create(null);
    if (fidName) properties[fidName] = f.fid;
    for (const d of r.fields) properties[d.keyname] = jsonValue(f.fields[d.keyname], d.datatype);
    return { type: 'Feature', id: f.fid, properties, geometry: project(f.geometry) };
  }, `{"type":"FeatureCollection",${crs}"features":[`, ']}\n');
}

async function* csvRows(r: ExportRequest): AsyncGenerator<unknown[]> {
  const project = outputProjector(r.srs);
  yield ['geom', ...r.fields.map((f) => f.keyname)];
  for await (const f of r.features) {
    const g = project(f.geometry);
    yield [g ? toWkt(g) : '', ...r.fields.map((d) => {
      const v = jsonValue(f.fields[d.keyname], d.datatype);
      return v === null ? '' : v;
    })];
  }
}

/** The CSV text of `r`'s features, with a BOM on request. */
function csvText(r: ExportRequest, bom: boolean): AsyncIterable<string> {
  // pipeline (not pipe) so that destroying the CSV stream on disconnect also stops the rows.
  const csv = pipeline(Readable.from(csvRows(r)), stringify({ bom, record_delimiter: '\r\n', cast: { boolean: (b) => (b ? '1' : '0') } }), () => {});
  return csv.setEncoding('utf8');
}

function csvBom(ctx: Context): boolean {
  const e = (q(ctx, 'encoding') ?? 'utf-8').toLowerCase();
  if (e === 'utf-8' || e === 'utf8') return false;
  if (e === 'utf-8-bom' || e === 'utf-8-sig') return true;
  throw badParameter('encoding', 'must be UTF-8 or UTF-8-BOM');
}

export function exportRoutes(services: Services): Router {
  const router = apiRouter();

  const geojson = async (ctx: Context) => {
    const fid = q(ctx, 'fid');
    const r = await exportRequest(services, ctx, (fields) => {
      if (fid !== undefined && !/^\w+$/.test(fid)) throw badParameter('fid', 'must be a field name');
      if (fid && fields.some((f) => f.keyname === fid)) throw badParameter('fid', `names a field exported ("${fid}"): the id needs a name of its own`);
    });
    const zipped = zippedParam(ctx);
    await sendFile(services, ctx, r, geojsonText(r, fid || undefined), fileName(r.entry, 'geojson'), 'application/geo+json', zipped);
  };
  router.get('feature_layer.geojson', '/api/resource/:id/geojson', geojson);
  router.get('/resource/:id/geojson/', geojson); // deprecated NGW form

  router.get('/api/resource/:id/csv', async (ctx) => {
    const r = await exportRequest(services, ctx);
    const bom = csvBom(ctx);
    const zipped = zippedParam(ctx);
    await sendFile(services, ctx, r, csvText(r, bom), fileName(r.entry, 'csv'), 'text/csv; charset=utf-8', zipped);
  });

  router.get('/api/resource/:id/qml', async (ctx) => {
    const entry = resourceFor(ctx, services, ctx.params.id, 'data.read');
    if (!services.catalog.classOf(entry).style || !entry.qml) {
      const what = entry.cls === 'qgis_vector_style' ? 'a JSON style without QML' : `a ${entry.cls}`;
      throw new ApiError(422, 'NOT_A_QGIS_STYLE', `Resource ${entry.id} is ${what}, not a QML qgis_vector_style.`);
    }
    let xml: Buffer;
    try {
      xml = await readFile(insideFolder(services.catalog.stylesDir, entry.qml));
    } catch {
      throw new ApiError(503, 'STYLE_UNAVAILABLE', `The QML file of resource ${entry.id} cannot be read.`);
    }
    ctx.type = 'application/xml';
    ctx.attachment(fileName(entry, 'qml'));
    ctx.body = xml;
  });

  return router;
}
