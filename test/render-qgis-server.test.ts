// Meridian's tiles against a live QGIS Server (Debian's qgis-server: `qgis_mapserver`) drawing the
// same layer, QML and bbox: the pixels covered must agree on at least 95% of the tile. Skips when
// QGIS Server is not installed (test/helpers/qgis-server.ts).
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agreement, describeAgreement, rgbaOf } from './helpers/images.js';
import { QGIS_SERVER_SKIP, startQgisServer, type QgisServer } from './helpers/qgis-server.js';
import { QGIS_FIXTURES, startServer, tempData, type TestServer } from './helpers/server.js';

// Style resource in the sample catalog, the QML it reads and the project layer it styles.
const CASES: { id: number; qml: string; layer: string; tiles: [number, number, number][] }[] = [
  { id: 3, qml: 'countries110_categorized', layer: 'countries110', tiles: [[1, 1, 0], [3, 4, 2]] },
  { id: 5, qml: 'countries110_rules', layer: 'countries110', tiles: [[2, 2, 1]] },
  { id: 7, qml: 'parallels_line', layer: 'parallels', tiles: [[1, 0, 0]] },
  { id: 10, qml: 'sites_graduated', layer: 'sites', tiles: [[1, 1, 0], [3, 4, 3]] },
];
const HALF = 20037508.342789244;

/** The shared project with one layer's renderer replaced by the QML's, as its own project file. */
function projectWith(dir: string, qml: string, layer: string): string {
  const renderer = /<renderer-v2[\s\S]*?<\/renderer-v2>/.exec(readFileSync(join(QGIS_FIXTURES, 'styles', `${qml}.qml`), 'utf8'))![0];
  const project = readFileSync(join(QGIS_FIXTURES, 'projects', 'world110.qgs'), 'utf8').split('<maplayer ').map((block) =>
    block.includes(`<layername>${layer}</layername>`) ? block.replace(/<renderer-v2[\s\S]*?<\/renderer-v2>/, renderer) : block,
  ).join('<maplayer ');
  const file = join(dir, 'projects', `${qml}.qgs`);
  writeFileSync(file, project);
  return file;
}

describe('agreement with a live QGIS Server', { skip: QGIS_SERVER_SKIP }, () => {
  let s: TestServer;
  let qgis: QgisServer;
  const dir = tempData();
  before(async () => {
    mkdirSync(join(dir, 'projects'));
    cpSync(join(QGIS_FIXTURES, 'data'), join(dir, 'data'), { recursive: true });
    qgis = await startQgisServer();
    s = await startServer({ stylesDir: join(QGIS_FIXTURES, 'styles') });
  });
  after(async () => { await qgis?.stop(); await s?.stop(); rmSync(dir, { recursive: true, force: true }); });

  for (const c of CASES) {
    for (const [z, x, y] of c.tiles) {
      it(`${c.qml} at ${z}/${x}/${y}`, async () => {
        const span = 2 * HALF / 2 ** z;
        const bbox = [-HALF + x * span, HALF - (y + 1) * span, -HALF + (x + 1) * span, HALF - y * span];
        const map = projectWith(dir, c.qml, c.layer);
        const theirs = await rgbaOf(await qgis.getMap({ map, layers: c.layer, bbox, width: 256, height: 256 }));
        const res = await s.get(`/api/component/render/tile?z=${z}&x=${x}&y=${y}&resource=${c.id}`);
        assert.equal(res.status, 200);
        const a = agreement(await rgbaOf(Buffer.from(await res.arrayBuffer())), theirs);
        assert.ok(a.referenceCovered > 0, 'QGIS Server drew something');
        assert.ok(a.coverage >= 0.95 && a.colourError < 4, describeAgreement(a));
      });
    }
  }
});
