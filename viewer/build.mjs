// Builds the map viewer into dist/viewer (run by `npm run build`, hence by `npm start`):
// - the page's TypeScript and CSS, bundled by esbuild under content-hashed names (cacheable for ever);
// - MapLibre GL JS's own ES modules, copied unbundled under a versioned folder, because MapLibre finds its
//   worker file next to itself (import.meta.url);
// - index.html, naming both; plus gzip and brotli copies of the big files for @koa/send to serve.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';

const here = import.meta.dirname;
const out = join(here, '..', 'dist', 'viewer');
const maplibreDist = join(here, '..', 'node_modules', 'maplibre-gl', 'dist');
const maplibreVersion = JSON.parse(readFileSync(join(maplibreDist, '..', 'package.json'), 'utf8')).version;
const maplibreDir = `maplibre-gl-${maplibreVersion}`;

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, maplibreDir), { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src', 'main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  // Resolved by the page's import map to the copied files.
  external: ['maplibre-gl'],
  entryNames: 'app-[hash]',
  outdir: out,
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((p) => relative(out, p));
const appJs = outputs.find((p) => p.endsWith('.js'));
const appCss = outputs.find((p) => p.endsWith('.css'));

const maplibreFiles = ['maplibre-gl.mjs', 'maplibre-gl-worker.mjs', 'maplibre-gl.css'];
for (const f of maplibreFiles) copyFileSync(join(maplibreDist, f), join(out, maplibreDir, f));

const page = readFileSync(join(here, 'index.html'), 'utf8')
  .replaceAll('{{maplibre}}', `viewer/${maplibreDir}`)
  .replaceAll('{{app.js}}', `viewer/${appJs}`)
  .replaceAll('{{app.css}}', `viewer/${appCss}`);
writeFileSync(join(out, 'index.html'), page);

for (const f of [appJs, appCss, ...maplibreFiles.map((f) => join(maplibreDir, f))]) {
  const body = readFileSync(join(out, f));
  writeFileSync(join(out, f + '.gz'), gzipSync(body, { level: 9 }));
  writeFileSync(join(out, f + '.br'), brotliCompressSync(body));
}
console.log(`viewer: built ${basename(out)}/ (${appJs}, ${appCss}, MapLibre ${maplibreVersion})`);
