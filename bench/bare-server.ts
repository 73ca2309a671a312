// A bare node:http server answering prepared bytes by path: the ceiling for serving cached tiles.
// Usage: node --import tsx bench/bare-server.ts <manifest.json>; prints its port. Manifest: { path: {file, etag} }.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Record<string, { file: string | null; etag: string }>;
const bodies = new Map(Object.entries(manifest).map(([path, m]) => [path, { body: m.file ? readFileSync(m.file) : null, etag: m.etag }]));
const server = createServer((req, res) => {
  const hit = bodies.get(req.url ?? '');
  if (!hit) { res.statusCode = 404; res.end(); return; }
  if (!hit.body) { res.statusCode = 204; res.end(); return; }
  res.setHeader('Content-Type', 'application/vnd.mapbox-vector-tile');
  res.setHeader('ETag', hit.etag);
  res.setHeader('Cache-Control', 'public, max-age=3600');
  res.end(hit.body);
});
server.listen(0, '127.0.0.1', () => console.log((server.address() as { port: number }).port));
