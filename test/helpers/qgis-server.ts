// A live QGIS Server (Debian's qgis-server: `qgis_mapserver`, 3.22) of one test's own, and WMS
// GetMap against it. Tests that use it skip where it is not installed (.ci/run installs it when it can).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './killable.js';

/** Why tests against QGIS Server cannot run here, or false. */
export const QGIS_SERVER_SKIP = spawnSync('sh', ['-c', 'command -v qgis_mapserver']).status !== 0
  && 'QGIS Server (qgis_mapserver) is not installed';

export interface GetMap {
  /** The project file. */
  map: string;
  layers: string;
  /** minx, miny, maxx, maxy in EPSG:3857. */
  bbox: number[];
  width: number;
  height: number;
}

export interface QgisServer {
  /** The PNG QGIS Server draws: transparent background, 96 DPI. */
  getMap(req: GetMap): Promise<Buffer>;
  stop(): Promise<void>;
}

export async function startQgisServer(): Promise<QgisServer> {
  // Its runtime files and its network cache (what it fetched from Meridian) are the test's, not the user's profile.
  const dir = mkdtempSync(join(tmpdir(), 'meridian-qgis-server-'));
  const port = await freePort();
  const proc = spawn('qgis_mapserver', [`127.0.0.1:${port}`], {
    env: { ...process.env, QT_QPA_PLATFORM: 'offscreen', XDG_RUNTIME_DIR: dir, QGIS_SERVER_CACHE_DIRECTORY: join(dir, 'network-cache') },
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${port}/ows`;
  for (let tries = 0; ; tries++) {
    try { await fetch(`${base}?SERVICE=WMS&REQUEST=GetCapabilities`); break; } catch {
      if (tries > 100) { proc.kill(); throw new Error('QGIS Server did not start'); }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    async getMap({ map, layers, bbox, width, height }) {
      const res = await fetch(`${base}?MAP=${encodeURIComponent(map)}&SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=${encodeURIComponent(layers)}`
        + `&STYLES=&CRS=EPSG:3857&BBOX=${bbox.join(',')}&WIDTH=${width}&HEIGHT=${height}&FORMAT=image/png&TRANSPARENT=true&DPI=96`);
      assert.equal(res.headers.get('content-type'), 'image/png', await res.clone().text());
      return Buffer.from(await res.arrayBuffer());
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill();
        await once(proc, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
