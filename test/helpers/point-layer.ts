// A generated GeoJSON layer of many points, written in batches (never held whole): a grid 0.1° apart
// in longitude, rows 0.25° apart from 80°S northward, 3,600 points a row.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/** Writes `count` points to `file`; `properties(k)` gives the k-th feature's properties as JSON text. */
export async function writePointLayer(file: string, count: number, properties: (k: number) => string = (k) => `{"n":${k}}`): Promise<void> {
  const out = createWriteStream(file);
  out.write('{"type":"FeatureCollection","features":[\n');
  for (let i = 0; i < count; i += 1000) {
    const batch: string[] = [];
    for (let k = i; k < Math.min(i + 1000, count); k++) {
      const lon = -180 + (k % 3600) / 10, lat = -80 + Math.floor(k / 3600) / 4;
      batch.push(`{"type":"Feature","properties":${properties(k)},"geometry":{"type":"Point","coordinates":[${lon},${lat}]}}`);
    }
    if (!out.write((i ? ',\n' : '') + batch.join(',\n'))) await once(out, 'drain');
  }
  out.end(']}\n');
  await once(out, 'finish');
}
