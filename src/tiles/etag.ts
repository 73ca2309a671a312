// A tile's strong validator: the SHA-1 of its bytes, whoever made them (a worker, the main thread,
// PostGIS, the disk store), so a tile keeps its ETag across memory, disk and regeneration.
import { createHash } from 'node:crypto';

export function tileEtag(body: Uint8Array): string {
  return body.length === 0 ? '""' : `"${createHash('sha1').update(body).digest('base64url')}"`;
}
