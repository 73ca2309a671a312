// @nextgis/ngw-connector, NextGIS's own JavaScript client of the NGW API (under ngw-kit and the
// ngw-map libraries), against the real server. It reads /api/component/pyramid/route first and
// builds every URL from that table by route name, so the table must name what is served.
// Its browser build (the bundle a page loads), run here over a stand-in XMLHttpRequest, tells
// errors apart by `exception`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import NgwConnectorModule from '@nextgis/ngw-connector';
import { ADMIN, ADMIN_PASSWORD, authServer, createUser } from './helpers/auth.js';
import { SAMPLE_DATA, type TestServer } from './helpers/server.js';

// The package's types declare an ES default export; at run time module.exports is the class.
const NgwConnector = NgwConnectorModule as unknown as typeof NgwConnectorModule.default;
type Connector = InstanceType<typeof NgwConnector>;

/**
 * Just enough of a browser's XMLHttpRequest, over fetch, for the package's browser build: its Node
 * build rejects with an error's message alone, the browser build with its NgwError subclasses.
 */
class FetchXhr {
  status = 0;
  responseText = '';
  responseType = '';
  withCredentials = false;
  upload: { onprogress?: unknown } = {};
  onload?: () => void;
  onerror?: (error: unknown) => void;
  private request: { method: string; url: string; headers: Record<string, string> } = { method: 'GET', url: '', headers: {} };
  private readonly abortion = new AbortController();
  open(method: string, url: string) { this.request = { method, url, headers: {} }; }
  setRequestHeader(name: string, value: string) { this.request.headers[name] = value; }
  abort() { this.abortion.abort(); }
  send(body: string | null) {
    const { method, url, headers } = this.request;
    fetch(url, { method, headers, body, signal: this.abortion.signal })
      .then(async (res) => { this.status = res.status; this.responseText = await res.text(); this.onload?.(); })
      .catch((error) => this.onerror?.(error));
  }
}

const sample = JSON.parse(readFileSync(join(SAMPLE_DATA, 'catalog.json'), 'utf8'));
type Country = { name: string; code: string | null; band: number };
const countries = (JSON.parse(readFileSync(join(SAMPLE_DATA, 'countries110.geojson'), 'utf8')).features as { properties: Country }[])
  .map((f, i) => ({ id: i + 1, fields: f.properties }));
/**
 * `body`'s result, and the promise rejections left unhandled meanwhile, collected instead of failing
 * the test: the package's resource cache rethrows a failed fetch into a chain nobody handles (a
 * browser logs it as "Uncaught (in promise)").
 */
async function withUnhandled<T>(body: () => Promise<T>): Promise<{ result: T; unhandled: unknown[] }> {
  const runner = process.listeners('unhandledRejection');
  const unhandled: unknown[] = [];
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', (reason) => unhandled.push(reason));
  try {
    const result = await body();
    await new Promise((resolve) => setImmediate(resolve));
    return { result, unhandled };
  } finally {
    process.removeAllListeners('unhandledRejection');
    for (const listener of runner) process.on('unhandledRejection', listener);
  }
}

const rule = (action: string, keyname: string, scope: string, permission: string) =>
  ({ action, principal: { keyname }, scope, permission, propagate: true });

/** Everyone sees the tree and World's data; Places' data needs a login; one style is hidden from all but administrators. */
function catalog() {
  const extra: Record<number, unknown[]> = {
    1: [rule('allow', 'everyone', 'data', 'read'), rule('allow', 'everyone', 'datastruct', 'read')],
    8: [rule('allow', 'authenticated', 'data', 'read'), rule('allow', 'authenticated', 'datastruct', 'read')],
    10: [rule('deny', 'everyone', 'resource', 'read')],
  };
  return {
    permissions: [rule('allow', 'everyone', 'resource', 'read')],
    resources: sample.resources.map((r: any) => (extra[r.id] ? { ...r, permissions: extra[r.id] } : r)),
  };
}

/** NGW's names and templates of the routes Meridian serves (NGW's own, as its setup_pyramid names them). */
const EXPECTED_ROUTES = {
  'auth.current_user': ['/api/component/auth/current_user'],
  'auth.group.collection': ['/api/component/auth/group/'],
  'auth.group.item': ['/api/component/auth/group/{0}', 'id'],
  'auth.login': ['/api/component/auth/login'],
  'auth.logout': ['/api/component/auth/logout'],
  'auth.register': ['/api/component/auth/register'],
  'auth.user.collection': ['/api/component/auth/user/'],
  'auth.user.item': ['/api/component/auth/user/{0}', 'id'],
  'feature_layer.feature.collection': ['/api/resource/{0}/feature/', 'id'],
  'feature_layer.feature.count': ['/api/resource/{0}/feature_count', 'id'],
  'feature_layer.feature.item': ['/api/resource/{0}/feature/{1}', 'id', 'fid'],
  'feature_layer.geojson': ['/api/resource/{0}/geojson', 'id'],
  'feature_layer.identify': ['/api/feature_layer/identify'],
  'feature_layer.mvt': ['/api/component/feature_layer/mvt'],
  'layer.extent': ['/api/resource/{0}/extent', 'id'],
  'pyramid.pkg_version': ['/api/component/pyramid/pkg_version'],
  'pyramid.route': ['/api/component/pyramid/route'],
  'render.image': ['/api/component/render/image'],
  'render.tile': ['/api/component/render/tile'],
  'resource.collection': ['/api/resource/'],
  'resource.item': ['/api/resource/{0}', 'id'],
  'resource.permission': ['/api/resource/{0}/permission', 'id'],
  'resource.search': ['/api/resource/search/'],
};

describe('@nextgis/ngw-connector', () => {
  let s: TestServer;
  // One connector per caller: the package hands back an existing one for the same URL (and credentials).
  let guest: Connector, bob: Connector, admin: Connector;
  before(async () => {
    s = await authServer({ catalog: catalog() });
    await createUser(s, 'bob', 'bob-password');
    guest = new NgwConnector({ baseUrl: s.url });
    bob = new NgwConnector({ baseUrl: s.url, auth: { login: 'bob', password: 'bob-password' } });
    admin = new NgwConnector({ baseUrl: s.url, auth: { login: 'administrator', password: ADMIN_PASSWORD } });
  });
  after(() => s?.stop());

  it('reads the route table: NGW\'s names, and each template leads to a route served here', async () => {
    const { status, body } = await s.json('/api/component/pyramid/route?client=NextGIS-NGW-Connector/1.19.6');
    assert.equal(status, 200);
    assert.deepEqual(body, EXPECTED_ROUTES);
    assert.deepEqual(await guest.connect(), body);
    const sampleParams: Record<string, string> = { id: '2', fid: '1' };
    for (const [name, [template, ...params]] of Object.entries(body as Record<string, string[]>)) {
      const path = template.replace(/\{(\d+)\}/g, (_, i) => sampleParams[params[Number(i)]]);
      // A route that exists answers its own status (405 for POST-only ones), never "no endpoint".
      const r = await s.json(path, { headers: ADMIN });
      assert.notEqual(r.body?.code, 'NOT_FOUND', `${name}: ${path} answered ${r.status} ${JSON.stringify(r.body)}`);
    }
  });

  it('getResource by id and by keyname gives the resource JSON', async () => {
    const countriesJson = (await s.json('/api/resource/2')).body;
    assert.deepEqual(await guest.getResource(2), countriesJson);
    // By keyname: resource.search?serialization=full&keyname=…
    assert.deepEqual(await guest.getResource('countries'), countriesJson);
    assert.equal((await guest.getResource('capitals'))?.resource.id, 11);
    assert.equal(await guest.getResource('no-such-keyname'), undefined);
  });

  it('lists the children of a group (resource.collection)', async () => {
    const children = await guest.getResourceChildren(1);
    assert.deepEqual(children, (await s.json('/api/resource/?parent=1')).body);
    assert.deepEqual(children.map((c) => c.resource.display_name), ['Countries', 'Parallels']);
  });

  it('searches only what the caller may read (resource.search)', async () => {
    const names = async (c: Connector) =>
      (await c.get('resource.search', null, { display_name__ilike: '%sites%' })).map((r) => r.resource.display_name);
    assert.deepEqual(await names(guest), ['Sites']);
    assert.deepEqual(await names(admin), ['Sites', 'Sites by score']);
    assert.equal(await guest.getResource({ display_name: 'Sites by score' }), undefined);
  });

  it('tells the current user: guest, then the user it logs in as', async () => {
    const me = await guest.getUserInfo();
    assert.equal(me.keyname, 'guest');
    await bob.connect();
    assert.equal(bob.user?.keyname, 'bob');
    assert.equal((await bob.get('auth.current_user')).auth_medium, 'basic');
  });

  it('pages, filters and orders features as the client sends them', async () => {
    const page = await guest.get('feature_layer.feature.collection', null,
      { id: 2, fld_band__ge: 3, order_by: '-name', limit: 5, offset: 2, geom: 'no', fields: 'name,band', extensions: '' });
    const expected = countries.filter((c) => c.fields.band >= 3).sort((a, b) => (a.fields.name < b.fields.name ? 1 : -1)).slice(2, 7);
    assert.deepEqual(page, expected.map((c) => ({ id: c.id, fields: { name: c.fields.name, band: c.fields.band }, extensions: {} })));

    const like = await guest.get('feature_layer.feature.collection', null, { id: 2, fld_name__ilike: '%republic%', geom: 'no', fields: 'name' });
    assert.deepEqual(like.map((f) => f.id), countries.filter((c) => /republic/i.test(c.fields.name)).map((c) => c.id));

    const france = countries.find((c) => c.fields.name === 'France')!;
    const one = await guest.get('feature_layer.feature.item', null, { id: 2, fid: france.id, geom: 'no' });
    assert.deepEqual(one.fields, france.fields);
    assert.deepEqual(await guest.get('feature_layer.feature.count', null, { id: 2 }), { total_count: countries.length });
  });

  it('intersects: the same features as the GeoJSON export of that shape', async () => {
    const wkt = 'POLYGON((-500000 5000000,-500000 6500000,1000000 6500000,1000000 5000000,-500000 5000000))';
    const got = await guest.get('feature_layer.feature.collection', null, { id: 2, intersects: wkt, srs: 3857, geom: 'no' });
    const exported = (await s.json(`/api/resource/2/geojson?srs=3857&intersects=${encodeURIComponent(wkt)}`)).body;
    assert.deepEqual(got.map((f) => f.id), exported.features.map((f: { id: number }) => f.id));
    assert.ok(got.some((f) => f.fields.name === 'France'), 'France lies in the box');
  });

  it('identifies features under a shape (feature_layer.identify)', async () => {
    const answer = await guest.post('feature_layer.identify', {
      data: { srs: 4326, geom: 'POLYGON((2 46,3 46,3 47,2 47,2 46))', layers: [2] },
    });
    assert.equal(answer.featureCount, 1);
    const layer = answer[2];
    assert.ok('features' in layer, JSON.stringify(layer));
    assert.deepEqual(layer.features.map((f) => [f.layerId, f.label]), [[2, 'France']]);
  });

  it('refuses a guest the data of a layer that needs a login, and gives it to the user', async () => {
    const refused = (await s.json('/api/resource/11/feature/?limit=1')).body;
    assert.equal(refused.status_code, 401);
    // The package's Node loader rejects with the NGW error's message (its browser loader wraps
    // the error object): never the error object as if it were features.
    await assert.rejects(guest.get('feature_layer.feature.collection', null, { id: 11, limit: 1 }), (e) => e === refused.message);
    const rows = await bob.get('feature_layer.feature.collection', null, { id: 11, geom: 'no' });
    assert.equal(rows.length, 24);
  });

  describe('its browser build: errors by NGW\'s exception names', () => {
    let browser: Connector;
    let BrowserConnector: typeof NgwConnector;
    before(async () => {
      (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = FetchXhr;
      // Named through a variable: the bundle has no types of its own, the package's describe it.
      const path = '@nextgis/ngw-connector/lib/ngw-connector.esm-browser.prod.js';
      BrowserConnector = ((await import(path)) as { default: typeof NgwConnector }).default;
      browser = new BrowserConnector({ baseUrl: s.url });
    });
    after(() => { delete (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest; });

    it('a missing resource is a ResourceNotFoundError, and getResource resolves undefined for it', async () => {
      await assert.rejects(browser.get('resource.item', null, { id: 999 }), (e) => e instanceof BrowserConnector.errors.ResourceNotFoundError);
      const missing = await withUnhandled(() => browser.getResource(999));
      assert.equal(missing.result, undefined);
      assert.ok(missing.unhandled.every((e) => e instanceof BrowserConnector.errors.ResourceNotFoundError), String(missing.unhandled));
      assert.equal((await browser.getResource(2))?.resource.keyname, 'countries');
    });

    it('a guest refused a layer\'s data gets an InsufficientPermissionsError that keeps Meridian\'s code', async () => {
      await assert.rejects(browser.get('feature_layer.feature.collection', null, { id: 11, limit: 1 }), (e: InstanceType<typeof NgwConnector.errors.NgwError> & { code?: string }) => {
        assert.ok(e instanceof BrowserConnector.errors.NgwError);
        assert.deepEqual([e.name, e.exception, e.status_code, e.code], ['InsufficientPermissionsError', 'nextgisweb.core.exception.InsufficientPermissions', 401, 'UNAUTHORIZED']);
        return true;
      });
    });
  });
});
