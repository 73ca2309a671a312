// A submitted job, checked field by field (400 naming the field) and completed with defaults.
import type { Context } from 'koa';
import { badField } from '../http/body.js';
import { ApiError } from '../http/errors.js';
import { MAX_RESOURCES } from '../http/params.js';
import { featureLayerOf, resourceFor } from '../http/resources.js';
import { styleKind } from '../render/renderer.js';
import type { Services } from '../services.js';
import type { BBox } from '../store/types.js';
import { MAX_ZOOM } from '../tiles/address.js';
import { TILE_FORMATS, type TileFormat } from '../tiles/store.js';
import { MAX_LATITUDE, tileCount } from './tile-grid.js';
import { JOB_TYPES, type JobSpec, type JobType } from './types.js';

/** Flamenco's default job priority. */
const DEFAULT_PRIORITY = 50;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback?: T): T {
  if (value === undefined && fallback) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw badField(name, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

function zoomRange(value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || !value.every(isInt)) throw badField('zoom', 'must be [min, max], two integers');
  const [min, max] = value as [number, number];
  if (min < 0 || max > MAX_ZOOM) throw badField('zoom', `must lie within 0..${MAX_ZOOM}`);
  if (min > max) throw badField('zoom', 'must have min <= max');
  return [min, max];
}

function bboxOf(value: unknown): BBox {
  if (!Array.isArray(value) || value.length !== 4 || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw badField('bbox', 'must be [minx, miny, maxx, maxy], four numbers (EPSG:4326)');
  }
  const [minx, miny, maxx, maxy] = value as BBox;
  if (minx < -180 || maxx > 180 || miny < -90 || maxy > 90) throw badField('bbox', 'must lie within longitudes -180..180 and latitudes -90..90');
  if (!(minx < maxx && miny < maxy)) throw badField('bbox', 'must have minx < maxx and miny < maxy');
  if (miny >= MAX_LATITUDE || maxy <= -MAX_LATITUDE) throw badField('bbox', `must reach latitudes within ±${MAX_LATITUDE} (the tile grid's)`);
  return [minx, miny, maxx, maxy];
}

/** Each resource exists, is readable, and is what the format tiles (feature layers for mvt, styles for png); answers the union of their extents. */
async function checkResources(ctx: Context, services: Services, value: unknown, format: TileFormat): Promise<{ ids: number[]; extent: BBox | null }> {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isInt)) throw badField('resources', 'must be a non-empty list of resource ids');
  if (value.length > MAX_RESOURCES) throw badField('resources', `must list at most ${MAX_RESOURCES} resources`);
  if (new Set(value).size !== value.length) throw badField('resources', 'lists a resource twice');
  let extent: BBox | null = null;
  const grow = (b: BBox | null) => { if (b) extent = extent ? [Math.min(extent[0], b[0]), Math.min(extent[1], b[1]), Math.max(extent[2], b[2]), Math.max(extent[3], b[3])] : b; };
  for (const id of value as number[]) {
    try {
      const entry = resourceFor(ctx, services, String(id), 'data.read', 'resources');
      if (format === 'mvt') { grow(await (await featureLayerOf(services, entry)).extent()); continue; }
      if (styleKind(services.catalog, entry) === 'rasterLayer') { grow([-180, -MAX_LATITUDE, 180, MAX_LATITUDE]); continue; }
      const layer = resourceFor(ctx, services, String(entry.parent), 'data.read', 'resources');
      grow(await (await featureLayerOf(services, layer)).extent());
    } catch (e) {
      // A missing resource or one of the wrong kind is a mistake in this field.
      if (e instanceof ApiError && (e.status === 404 || e.status === 422)) throw badField('resources', `has a problem with ${id}: ${e.message.replace(/\.$/, '')}`);
      throw e;
    }
  }
  return { ids: value as number[], extent };
}

export async function jobSpec(ctx: Context, services: Services, body: Record<string, unknown>, maxTiles: number): Promise<JobSpec> {
  const type: JobType = oneOf(body.type, 'type', JOB_TYPES);
  const format = oneOf(body.format, 'format', Object.keys(TILE_FORMATS) as TileFormat[], 'mvt');
  const zoom = zoomRange(body.zoom);
  const priority = body.priority ?? DEFAULT_PRIORITY;
  if (!isInt(priority) || priority < 0 || priority > 100) throw badField('priority', 'must be an integer from 0 to 100');
  if (body.name !== undefined && (typeof body.name !== 'string' || body.name.length > 255)) throw badField('name', 'must be a string of at most 255 characters');
  const { ids, extent } = await checkResources(ctx, services, body.resources, format);
  let bbox: BBox;
  if (body.bbox !== undefined) bbox = bboxOf(body.bbox);
  // A single point's extent is a box of no size: widened just enough to be one.
  else if (extent) bbox = bboxOf([extent[0], extent[1], Math.max(extent[2], extent[0] + 1e-9), Math.max(extent[3], extent[1] + 1e-9)]);
  else throw badField('bbox', 'is required: the layers have no extent (they are empty)');
  const tiles = tileCount(bbox, zoom);
  if (tiles > maxTiles) throw badField('zoom', `and bbox cover ${tiles} tiles, more than the limit of ${maxTiles} per job (max_job_tiles)`);
  const name = (body.name as string | undefined) ?? `${type} ${format} ${ids.join(',')} z${zoom[0]}-${zoom[1]}`;
  return { name, type, format, resources: ids, zoom, bbox, priority };
}
