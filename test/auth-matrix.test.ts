// Every data endpoint, as guest, as a plain user and as administrator, against a public layer, a
// members-only layer, a layer whose data is forbidden and a hidden layer: the status codes must
// match the ACLs and no body may carry a feature (or name) the caller may not see.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN, AUTH_ENV, basic, createUser } from './helpers/auth.js';
import { SAMPLE_DATA, startServer, tempData, type TestServer } from './helpers/server.js';

const sample = JSON.parse(readFileSync(join(SAMPLE_DATA, 'catalog.json'), 'utf8'));

/** A point layer whose every feature carries `marker` in its name. */
function markedLayer(marker: string): string {
  const features = [0, 1, 2].map((i) => ({
    type: 'Feature', geometry: { type: 'Point', coordinates: [10 + i, 20 + i] }, properties: { name: `${marker}-${i}`, score: i },
  }));
  return JSON.stringify({ type: 'FeatureCollection', features });
}

const deny = (keyname: string, scope: string, permission: string) => ({ action: 'deny', principal: { keyname }, scope, permission, propagate: true });

type Who = 'guest' | 'user' | 'admin';

interface Layer {
  id: number;
  style: number;
  parent: number;
  /** Expected status of data endpoints, and of the resource itself, per caller. */
  data: Record<Who, number>;
  resource: Record<Who, number>;
  /** Text that must not appear in any body of a caller denied its data. */
  markers: string[];
}

const OPEN = { guest: 200, user: 200, admin: 200 };
const ADMIN_ONLY = { guest: 401, user: 403, admin: 200 };
const LAYERS: Record<string, Layer> = {
  public: { id: 2, style: 3, parent: 1, data: OPEN, resource: OPEN, markers: [] },
  members: { id: 23, style: 24, parent: 1, data: { guest: 401, user: 200, admin: 200 }, resource: OPEN, markers: ['MEMBERSONLY'] },
  forbidden: { id: 20, style: 21, parent: 8, data: ADMIN_ONLY, resource: OPEN, markers: ['TOPSECRET'] },
  hidden: { id: 22, style: 25, parent: 8, data: ADMIN_ONLY, resource: ADMIN_ONLY, markers: ['HIDDENFEATURE', 'HIDDENLAYER'] },
};

function matrixData(): string {
  const dir = tempData({ copySample: true });
  writeFileSync(join(dir, 'members.geojson'), markedLayer('MEMBERSONLY'));
  writeFileSync(join(dir, 'secret.geojson'), markedLayer('TOPSECRET'));
  writeFileSync(join(dir, 'hidden.geojson'), markedLayer('HIDDENFEATURE'));
  const layer = (id: number, parent: number, name: string, source: string, permissions: unknown[]) =>
    ({ id, cls: 'vector_layer', parent, display_name: name, source, label_field: 'name', permissions });
  const style = (id: number, parent: number) => ({ id, cls: 'qgis_vector_style', parent, display_name: `Style ${id}`, qml: 'sites_graduated.qml' });
  const catalog = {
    resources: [
      ...sample.resources,
      layer(20, 8, 'Secret sites', 'secret.geojson', [deny('everyone', 'data', 'read')]), style(21, 20),
      layer(22, 8, 'HIDDENLAYER', 'hidden.geojson', [deny('everyone', 'resource', 'read')]), style(25, 22),
      layer(23, 1, 'Members only', 'members.geojson', [deny('guest', 'data', 'read')]), style(24, 23),
    ],
  };
  writeFileSync(join(dir, 'catalog.json'), JSON.stringify(catalog));
  return dir;
}

/** Every data endpoint that exists for a layer and its style. */
function dataPaths(l: Layer): string[] {
  return [
    `/api/resource/${l.id}/feature/`, `/api/resource/${l.id}/feature/1`, `/api/resource/${l.id}/feature_count`,
    `/api/resource/${l.id}/extent`, `/api/resource/${l.id}/geojson`, `/api/resource/${l.id}/geojson?zipped=yes`,
    `/resource/${l.id}/geojson/`, `/api/resource/${l.id}/csv`, `/api/resource/${l.style}/qml`,
    `/api/resource/${l.id}/0/0/0.mvt`, `/api/component/feature_layer/mvt?resource=${l.id}&z=0&x=0&y=0`,
    // A tile mixing a public layer with this one: it stands or falls with the strictest layer.
    `/api/component/feature_layer/mvt?resource=6,${l.id}&z=0&x=0&y=0`,
    `/api/component/render/tile?resource=${l.style}&z=0&x=0&y=0`, `/resource/${l.style}/tms?z=0&x=0&y=0`,
    `/api/component/render/image?extent=-20037508,-20037508,20037508,20037508&size=64,64&resource=${l.style}`,
    // A composite of a public style and this one, likewise.
    `/api/component/render/tile?resource=7,${l.style}&z=0&x=0&y=0`,
  ];
}

function resourcePaths(l: Layer): string[] {
  return [`/api/resource/${l.id}`, `/api/resource/${l.id}/permission`, `/api/resource/?parent=${l.id}`, `/api/resource/${l.style}`];
}

describe('permission matrix over every data endpoint', () => {
  let s: TestServer;
  const headers: Record<Who, Record<string, string>> = { guest: {}, user: basic('uma', 'uma-password'), admin: ADMIN };
  before(async () => {
    s = await startServer({ dataDir: matrixData(), env: AUTH_ENV });
    await createUser(s, 'uma', 'uma-password');
  });
  after(() => s.stop());

  const fetchText = async (path: string, who: Who) => {
    const res = await s.get(path, { headers: headers[who] });
    const bytes = Buffer.from(await res.arrayBuffer());
    return {
      status: res.status, text: bytes.toString('latin1'), type: res.headers.get('content-type') ?? '',
      auth: res.headers.get('www-authenticate'), cacheControl: res.headers.get('cache-control') ?? '',
    };
  };

  for (const [name, layer] of Object.entries(LAYERS)) {
    for (const who of ['guest', 'user', 'admin'] as Who[]) {
      it(`${name} layer as ${who}`, async () => {
        const cases = [
          ...dataPaths(layer).map((p) => [p, layer.data[who]] as const),
          ...resourcePaths(layer).map((p) => [p, layer.resource[who]] as const),
        ];
        const seesData = layer.data[who] === 200;
        for (const [path, expected] of cases) {
          const r = await fetchText(path, who);
          assert.equal(r.status, expected, `${who} ${path}`);
          if (r.status === 401) assert.match(r.auth ?? '', /^Basic realm="Meridian"/, `${path}: WWW-Authenticate`);
          if (r.status >= 400) assert.match(r.type, /json/, `${path}: errors are JSON`);
          if (!seesData) for (const m of layer.markers) assert.ok(!r.text.includes(m), `${who} ${path} leaks ${m}`);
          if (r.status === 200 && who !== 'guest') assert.doesNotMatch(r.cacheControl, /public/, `${path}: no shared caching of a signed-in answer`);
        }
      });
    }
  }

  it('a caller who may not read the data is refused before any complaint about the parameters (as NGW)', async () => {
    const badPaths = (l: Layer) => [
      `/api/resource/${l.id}/geojson?zipped=maybe`, `/api/resource/${l.id}/geojson?fid=no-such-name`, `/api/resource/${l.id}/csv?encoding=latin1`,
      `/api/resource/${l.id}/csv?zipped=maybe`, `/api/resource/${l.id}/geojson?srs=mercator`, `/api/resource/${l.id}/feature/?limit=-1`,
      `/api/resource/${l.id}/feature/?fld_nothing=1`, `/api/resource/${l.id}/feature/x`,
    ];
    for (const layer of Object.values(LAYERS)) {
      for (const who of ['guest', 'user', 'admin'] as Who[]) {
        for (const path of badPaths(layer)) {
          const r = await fetchText(path, who);
          const expected = layer.data[who] === 200 ? 400 : layer.data[who];
          assert.equal(r.status, expected, `${who} ${path}: ${r.text.slice(0, 200)}`);
        }
      }
    }
  });

  it('identify answers for the layers the caller may read and leaks nothing of the others', async () => {
    const ids = Object.values(LAYERS).map((l) => l.id);
    const body = JSON.stringify({ srs: 4326, geom: 'POLYGON((-179 -85,179 -85,179 85,-179 85,-179 -85))', layers: ids });
    for (const who of ['guest', 'user', 'admin'] as Who[]) {
      const res = await s.get('/api/feature_layer/identify', { method: 'POST', body, headers: { ...headers[who], 'content-type': 'application/json' } });
      const text = await res.text();
      assert.equal(res.status, 200, `${who}: ${text.slice(0, 200)}`);
      const answer = JSON.parse(text);
      for (const layer of Object.values(LAYERS)) {
        if (layer.data[who] === 200) assert.ok(answer[layer.id].featureCount > 0, `${who} identifies layer ${layer.id}`);
        else {
          assert.deepEqual(answer[layer.id], { error: 'Forbidden' }, `${who} is refused layer ${layer.id}`);
          for (const m of layer.markers) assert.ok(!text.includes(m), `${who} identify leaks ${m}`);
        }
      }
    }
  });

  it('shows the markers to those allowed (so the leak checks above can fail)', async () => {
    for (const [who, layer] of [['admin', LAYERS.forbidden], ['admin', LAYERS.hidden], ['user', LAYERS.members]] as const) {
      for (const path of [`/api/resource/${layer.id}/geojson`, `/api/component/feature_layer/mvt?resource=6,${layer.id}&z=0&x=0&y=0`]) {
        const r = await fetchText(path, who);
        assert.ok(r.text.includes(layer.markers[0]), `${who} sees ${layer.markers[0]} in ${path}`);
      }
    }
  });

  it('lists only readable children, and no child listing leaks a hidden layer', async () => {
    for (const who of ['guest', 'user', 'admin'] as Who[]) {
      for (const parent of [0, 1, 8]) {
        const r = await fetchText(`/api/resource/?parent=${parent}`, who);
        assert.equal(r.status, 200);
        const ids = JSON.parse(r.text).map((c: any) => c.resource.id);
        assert.equal(ids.includes(22), who === 'admin' && parent === 8, `${who} parent=${parent}`);
        if (who !== 'admin') assert.ok(!r.text.includes('HIDDENLAYER'));
        if (parent === 8) assert.ok(ids.includes(20), 'a layer with forbidden data is still listed');
      }
    }
  });
});
