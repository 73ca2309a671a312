// GeoJSON FeatureCollection (RFC 7946, and the older "crs" member that GDAL still writes), read as a
// stream: the file is split into its members and the features one at a time (json-members.ts), each
// parsed with JSON.parse, so a large file never sits in memory as one string. A feature larger than
// BIG_FEATURE_BYTES (a continent's outline) is parsed by stream-json instead, in steps, so that one
// JSON.parse does not stop the event loop for a long time (30 MB take half a second).
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Feature } from 'geojson';
import chain from 'stream-chain';
import { parser } from 'stream-json';
import { streamValues } from 'stream-json/streamers/stream-values.js';
import { SourceError, type RawFeature, type SourceReader } from '../source.js';
import { jsonMembers, JsonSyntaxError, type JsonPiece } from './json-members.js';

const BIG_FEATURE_BYTES = 4 * 2 ** 20;
/** Slices of a big feature handed to stream-json: the event loop runs between them. */
const BIG_FEATURE_STEP = 64 * 2 ** 10;

/** `bytes` in slices of BIG_FEATURE_STEP, the event loop running between them (not only microtasks). */
async function* inSteps(bytes: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += BIG_FEATURE_STEP) {
    yield bytes.subarray(at, at + BIG_FEATURE_STEP);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The value of a member or feature: JSON.parse, or stream-json in steps for a big one. */
async function parsed({ value }: JsonPiece): Promise<unknown> {
  try {
    if (value.length <= BIG_FEATURE_BYTES) return JSON.parse(value.toString('utf8'));
    const values = chain([Readable.from(inSteps(value)), parser({ streamValues: false }), streamValues()]) as AsyncIterable<{ value: unknown }>;
    for await (const { value: v } of values) return v;
    throw new SyntaxError('no value');
  } catch (e) {
    throw new SourceError(`not valid JSON: ${(e as Error).message}`);
  }
}

function isFeature(v: unknown): v is Feature {
  return typeof v === 'object' && v !== null && (v as Feature).type === 'Feature';
}

/** A top-level "crs" member (named or linked, as GeoJSON 2008 defined it). */
function isCrs(v: unknown): v is { type: string; properties?: { name?: unknown } } {
  return typeof v === 'object' && v !== null && ['name', 'link'].includes((v as { type?: string }).type ?? '');
}

function notAFeature(v: unknown): SourceError {
  return new SourceError(`an element of "features" is not a Feature: ${JSON.stringify(v)?.slice(0, 60)}`);
}

async function next(items: AsyncIterator<JsonPiece>): Promise<IteratorResult<JsonPiece>> {
  try {
    return await items.next();
  } catch (e) {
    // File system errors (a missing or unreadable file) pass through as they are; the rest is the JSON.
    if (e instanceof JsonSyntaxError) throw new SourceError(`not valid JSON: ${e.message}`);
    throw e;
  }
}

export async function openGeoJson(path: string): Promise<SourceReader> {
  const items = jsonMembers(createReadStream(path), 'features');
  // Read up to the first feature: the CRS must be known before any coordinate is reprojected.
  let type: unknown, crs: string | null = null, first: Feature | undefined;
  for (let r = await next(items); !r.done; r = await next(items)) {
    const v = await parsed(r.value);
    if (r.value.element) {
      if (!isFeature(v)) throw notAFeature(v);
      first = v;
      break;
    }
    if (r.value.key === 'type') type = v;
    else if (r.value.key === 'crs' && isCrs(v)) crs = typeof v.properties?.name === 'string' ? v.properties.name : null;
    else if (r.value.key === 'features') throw new SourceError('"features" is not an array'); // an array comes element by element
  }
  if (type !== 'FeatureCollection') throw new SourceError('not a GeoJSON FeatureCollection');
  const raw = (f: Feature): RawFeature => ({ id: f.id, geometry: f.geometry ?? null, properties: f.properties });
  return {
    crs,
    features: (async function* () {
      try {
        if (!first) return;
        yield raw(first);
        for (let r = await next(items); !r.done; r = await next(items)) {
          const v = await parsed(r.value);
          if (r.value.element) {
            if (!isFeature(v)) throw notAFeature(v);
            yield raw(v);
          } else if (r.value.key === 'crs') throw new SourceError('the "crs" member must come before "features"');
          else if (r.value.key === 'type' && v !== 'FeatureCollection') throw new SourceError('not a GeoJSON FeatureCollection');
        }
      } finally {
        await items.return?.(undefined); // closes the file when the builder stops early
      }
    })(),
  };
}
