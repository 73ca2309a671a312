// Bad input on every endpoint answers a JSON error in the NGW shape with a stable code; a layer in
// error answers 503 while others work; an unexpected exception is a 500 that names the request.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Koa from 'koa';
import pino from 'pino';
import { errorHandler, requestId } from '../src/http/middleware.js';
import { ADMIN, authServer, basic, createUser } from './helpers/auth.js';
import { FIXTURES, fixtureData, startServer, tempData, type TestServer } from './helpers/server.js';

/** NextGIS Web's exception class for the codes that mean one, as NGW's clients (ngw-connector) read it. */
const NGW_EXCEPTION: Record<string, string> = {
  INVALID_PARAMETER: 'nextgisweb.core.exception.ValidationError',
  INVALID_FIELD: 'nextgisweb.core.exception.ValidationError',
  INVALID_ACL: 'nextgisweb.core.exception.ValidationError',
  INVALID_GEOMETRY: 'nextgisweb.core.exception.ValidationError',
  SYSTEM_PRINCIPAL: 'nextgisweb.core.exception.ValidationError',
  KEYNAME_TAKEN: 'nextgisweb.auth.api.PrincipalNotUnique',
  INVALID_BODY: 'nextgisweb.pyramid.tomb.exception.MalformedJSONBody',
  UNAUTHORIZED: 'nextgisweb.core.exception.InsufficientPermissions',
  FORBIDDEN: 'nextgisweb.core.exception.InsufficientPermissions',
  INVALID_CREDENTIALS: 'nextgisweb.auth.exception.InvalidCredentialsException',
  USER_DISABLED: 'nextgisweb.auth.exception.UserDisabledException',
  RESOURCE_NOT_FOUND: 'nextgisweb.resource.exception.ResourceNotFound',
  FEATURE_NOT_FOUND: 'nextgisweb.feature_layer.exception.FeatureNotFound',
  NOT_A_FEATURE_LAYER: 'nextgisweb.resource.exception.ResourceInterfaceNotSupported',
  NOT_A_QGIS_STYLE: 'nextgisweb.resource.exception.ResourceInterfaceNotSupported',
  INTERNAL_ERROR: 'nextgisweb.pyramid.exception.InternalServerError',
  MALFORMED_REQUEST: 'pyramid.httpexceptions.HTTPBadRequest',
  REGISTRATION_DISABLED: 'pyramid.httpexceptions.HTTPForbidden',
  NOT_FOUND: 'pyramid.httpexceptions.HTTPNotFound',
  METHOD_NOT_ALLOWED: 'pyramid.httpexceptions.HTTPMethodNotAllowed',
};
/** Codes NGW has no counterpart for keep Meridian's own name. */
const exceptionOf = (code: string) => NGW_EXCEPTION[code] ?? `meridian.${code}`;

/** Asserts the NGW error shape, the status, the stable code and the exception name; returns the body. */
async function expectError(s: TestServer, path: string, status: number, code: string, init?: RequestInit): Promise<any> {
  const res = await s.get(path, init);
  const text = await res.text();
  assert.equal(res.status, status, `${init?.method ?? 'GET'} ${path}: ${text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, path);
  const body = JSON.parse(text);
  assert.equal(body.status_code, status, path);
  assert.equal(body.code, code, `${path}: ${text}`);
  assert.equal(body.exception, exceptionOf(code), `${path}: ${text}`);
  assert.ok(typeof body.title === 'string' && body.title, path);
  assert.ok(typeof body.message === 'string' && body.message, path);
  assert.equal(body.request_id, res.headers.get('x-request-id'));
  return body;
}

describe('client mistakes', () => {
  let s: TestServer;
  before(async () => { s = await startServer({ dataDir: fixtureData() }); });
  after(() => s.stop());

  it('unknown and malformed resource ids', async () => {
    for (const path of ['/api/resource/999', '/api/resource/999/feature/', '/api/resource/999/feature/1', '/api/resource/999/feature_count',
      '/api/resource/999/extent', '/api/resource/999/geojson', '/api/resource/999/csv', '/api/resource/999/qml', '/resource/999/geojson/',
      '/api/resource/?parent=999']) {
      await expectError(s, path, 404, 'RESOURCE_NOT_FOUND');
    }
    for (const id of ['abc', '-1', '1.5', '1e3', '%20', '..%2F..%2Fetc%2Fpasswd']) {
      const body = await expectError(s, `/api/resource/${id}`, 400, 'INVALID_PARAMETER');
      assert.match(body.message, /"id"/);
      await expectError(s, `/api/resource/${id}/geojson`, 400, 'INVALID_PARAMETER');
    }
    assert.match((await expectError(s, '/api/resource/?parent=x', 400, 'INVALID_PARAMETER')).message, /"parent"/);
    assert.match((await expectError(s, '/api/resource/', 400, 'INVALID_PARAMETER')).message, /"parent" is required/);
  });

  it('requests the HTTP parser refuses: a JSON error with a code, and the server serves on', async () => {
    /** The whole answer to `bytes` written on a fresh connection, read until the server closes it. */
    const exchange = (bytes: string) => new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(s.url);
      const socket = connect(Number(port), hostname);
      let answer = '';
      socket.on('data', (d: Buffer) => { answer += d.toString('latin1'); });
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
      socket.write(bytes);
    });
    const cases: [string, string, number, string][] = [
      ['a header line without a colon', 'GET /api/resource/0 HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n', 400, 'MALFORMED_REQUEST'],
      ['headers past the limit', `GET /api/resource/0 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
      ['CONNECT, as to a proxy', 'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n', 405, 'METHOD_NOT_ALLOWED'],
      ['a chunked body with a bad chunk size', 'POST /api/feature_layer/identify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400, 'MALFORMED_REQUEST'],
      // Node refuses these two after parsing them, with a bare status.
      ['an HTTP/1.1 request without Host', 'GET /api/resource/0 HTTP/1.1\r\n\r\n', 400, 'MALFORMED_REQUEST'],
      ['an expectation other than 100-continue', 'POST /api/feature_layer/identify HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}', 417, 'EXPECTATION_FAILED'],
    ];
    for (const [what, bytes, status, code] of cases) {
      const answer = await exchange(bytes);
      const [head, body] = answer.split('\r\n\r\n');
      assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `), `${what}: ${head}`);
      assert.match(head, /\r\ncontent-type: application\/json/i, what);
      const error = JSON.parse(body);
      assert.deepEqual([error.status_code, error.code, error.exception], [status, code, exceptionOf(code)], what);
      assert.equal(error.request_id, /\r\nx-request-id: (\S+)/i.exec(head)?.[1], what);
      assert.ok(error.message, what);
      assert.notEqual(error.title, 'Error', what);
    }
    assert.equal((await s.get('/api/resource/0')).status, 200, 'still serving');
  });

  it('feature ids', async () => {
    await expectError(s, '/api/resource/4/feature/1', 404, 'FEATURE_NOT_FOUND');
    await expectError(s, '/api/resource/4/feature/99999999999', 404, 'FEATURE_NOT_FOUND');
    // Any integer is an id (NGW routes {fid:int}; a PostGIS table may hold 0 or below): a file layer has none of them.
    for (const fid of ['0', '-3']) await expectError(s, `/api/resource/4/feature/${fid}`, 404, 'FEATURE_NOT_FOUND');
    for (const fid of ['abc', '2.5', '-', '+3']) {
      assert.match((await expectError(s, `/api/resource/4/feature/${fid}`, 400, 'INVALID_PARAMETER')).message, /"fid"/);
    }
  });

  it('data endpoints on a resource of another class: 422', async () => {
    // Sample data: 3 is a qgis_vector_style (it has data, but no features), 2 a vector layer.
    const sample = await startServer({ dataDir: tempData({ copySample: true }) });
    try {
      for (const path of ['/api/resource/3/feature/', '/api/resource/3/feature/1', '/api/resource/3/feature_count', '/api/resource/3/extent',
        '/api/resource/3/geojson', '/api/resource/3/csv']) {
        await expectError(sample, path, 422, 'NOT_A_FEATURE_LAYER');
      }
      await expectError(sample, '/api/resource/2/qml', 422, 'NOT_A_QGIS_STYLE');
    } finally {
      await sample.stop();
    }
  });

  it('bad query parameters name the parameter, on the feature API and the exports alike', async () => {
    const bad: [string, string][] = [
      ['srs=abc', 'srs'], ['srs=99999', 'srs'], ['srs=EPSG:', 'srs'],
      ['intersects=POINT(1)', 'intersects'], ['intersects=LINESTRING(a b)', 'intersects'], ['intersects=CIRCLE(1 2)', 'intersects'],
      ['intersects=POLYGON((0 0,1 1))', 'intersects'], ['intersects=POLYGON((0 0,1 0,1 1,0 2))', 'intersects'],
      ['intersects=POINT(1e400 0)', 'intersects'], ['intersects=GEOMETRYCOLLECTION(POINT(0 0),POINT(1e400 0))', 'intersects'], ['srs=4326&intersects=POINT(0 95)', 'intersects'], ['fields=nope', 'fields'], ['fields=name,nope', 'fields'],
      ['intersects=POINT(0 0) (5 5)', 'intersects'], ['intersects=POINT(0 0)x', 'intersects'],
      ...['POINT EMPTY', 'POLYGON EMPTY', 'MULTIPOLYGON EMPTY', 'GEOMETRYCOLLECTION EMPTY', 'GEOMETRYCOLLECTION(POINT EMPTY)', 'MULTIPOINT EMPTY']
        .map((wkt): [string, string] => [`intersects=${wkt}`, 'intersects']),
    ];
    for (const base of ['/api/resource/2/feature/', '/api/resource/2/geojson', '/api/resource/2/csv']) {
      for (const [query, name] of bad) {
        const body = await expectError(s, `${base}?${query.replace(/ /g, '%20')}`, 400, 'INVALID_PARAMETER');
        assert.match(body.message, new RegExp(`"${name}"`), `${base}?${query}: ${body.message}`);
      }
    }
    const featureOnly: [string, string][] = [
      ['limit=-1', 'limit'], ['limit=x', 'limit'], ['limit=1.5', 'limit'], ['limit=9007199254740992', 'limit'], ['offset=-5', 'offset'], ['offset=1.5', 'offset'],
      ['offset=100000000000000000000', 'offset'],
      ['geom=maybe', 'geom'], ['dt_format=x', 'dt_format'],
    ];
    for (const [query, name] of featureOnly) {
      assert.match((await expectError(s, `/api/resource/2/feature/?${query}`, 400, 'INVALID_PARAMETER')).message, new RegExp(`"${name}"`));
    }
    assert.match((await expectError(s, '/api/resource/2/feature/1?srs=x', 400, 'INVALID_PARAMETER')).message, /"srs"/);
    assert.match((await expectError(s, '/api/resource/2/feature/100000000000000000000', 400, 'INVALID_PARAMETER')).message, /"fid"/);
    assert.match((await expectError(s, '/api/resource/2/geojson?fid=a%20b', 400, 'INVALID_PARAMETER')).message, /"fid"/);
    assert.match((await expectError(s, '/api/resource/2/geojson?fid=name', 400, 'INVALID_PARAMETER')).message, /"fid" names a field/);
    assert.match((await expectError(s, '/api/resource/2/geojson?zipped=maybe', 400, 'INVALID_PARAMETER')).message, /"zipped"/);
    assert.match((await expectError(s, '/api/resource/2/csv?encoding=latin1', 400, 'INVALID_PARAMETER')).message, /"encoding"/);
  });

  it('`intersects` as a deeply nested GEOMETRYCOLLECTION is answered at once (its box took twice the time per level: 200 levels held the server for ever)', async () => {
    const nested = `${'GEOMETRYCOLLECTION('.repeat(20)}POINT(0 0)${')'.repeat(20)}`;
    const started = performance.now();
    const features = await s.json(`/api/resource/2/feature/?srs=4326&intersects=${encodeURIComponent(nested)}`);
    assert.equal(features.status, 200, JSON.stringify(features.body));
    assert.deepEqual(features.body, []);
    assert.equal((await s.get(`/api/resource/2/geojson?intersects=${encodeURIComponent(nested)}`)).status, 200);
    assert.ok(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)} ms`);
  });

  it('`intersects` as GEOMETRYCOLLECTIONs nested three deep is the shape of their parts (Turf read one level, and threw: 500)', async () => {
    // A point on the vertex the routes A1 and B2 share: lines are tested against the shape by Turf.
    const nested = encodeURIComponent('GEOMETRYCOLLECTION(GEOMETRYCOLLECTION(GEOMETRYCOLLECTION(POINT(14.4205 50.088))))');
    const features = await s.json(`/api/resource/6/feature/?srs=4326&geom=no&intersects=${nested}`);
    assert.equal(features.status, 200, JSON.stringify(features.body));
    assert.deepEqual(features.body.map((f: { id: number }) => f.id), [1, 2]);
    const csv = await s.get(`/api/resource/6/csv?srs=4326&intersects=${nested}`);
    assert.equal(csv.status, 200);
    assert.equal((await csv.text()).trim().split('\n').length, 3);
  });

  it('wrong method: 405 with an Allow header; unknown route: 404', async () => {
    for (const [method, path] of [['POST', '/api/resource/2'], ['DELETE', '/api/resource/2/geojson'], ['PUT', '/api/resource/2/feature/1'], ['POST', '/api/resource/']]) {
      const res = await s.get(path, { method });
      assert.match(res.headers.get('allow') ?? '', /GET/, `${method} ${path}`);
      await expectError(s, path, 405, 'METHOD_NOT_ALLOWED', { method });
    }
    for (const path of ['/api/nothing', '/api/resource/2/feature/1/extra', '/api/resource/2/shapefile', '/resource/2/geojson/..%2f..%2f']) {
      await expectError(s, path, 404, 'NOT_FOUND');
    }
  });
});

describe('errors of callers and their input', () => {
  let s: TestServer;
  before(async () => {
    s = await authServer();
    await createUser(s, 'plain', 'plain-password');
  });
  after(() => s.stop());

  const USERS = '/api/component/auth/user/';
  const post = (body: string, headers: Record<string, string> = ADMIN): RequestInit =>
    ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('permissions and credentials', async () => {
    await expectError(s, USERS, 401, 'UNAUTHORIZED');
    await expectError(s, USERS, 403, 'FORBIDDEN', { headers: basic('plain', 'plain-password') });
    await expectError(s, '/api/resource/2', 401, 'INVALID_CREDENTIALS', { headers: basic('plain', 'wrong-password') });
    await expectError(s, '/api/component/auth/register', 403, 'REGISTRATION_DISABLED', post('{"keyname": "newbie", "password": "newbie-password"}', {}));
    const id = await createUser(s, 'erin', 'erin-password');
    assert.equal((await s.get(`${USERS}${id}`, { ...post('{"disabled": true}'), method: 'PUT' })).status, 200);
    await expectError(s, '/api/component/auth/login', 403, 'USER_DISABLED', post('{"login": "erin", "password": "erin-password"}', {}));
  });

  it('bodies and the principals they name', async () => {
    await expectError(s, USERS, 400, 'INVALID_BODY', post('{"keyname": '));
    await expectError(s, USERS, 400, 'INVALID_FIELD', post('{"keyname": "1abc", "password": "long-enough"}'));
    await expectError(s, USERS, 409, 'KEYNAME_TAKEN', post('{"keyname": "PLAIN", "password": "long-enough"}'));
    const users: { id: number; keyname: string }[] = (await s.json(USERS, { headers: ADMIN })).body;
    const administrator = users.find((u) => u.keyname === 'administrator')!.id;
    await expectError(s, `${USERS}${administrator}`, 422, 'SYSTEM_PRINCIPAL', { method: 'DELETE', headers: ADMIN });
    await expectError(s, '/api/resource/2', 400, 'INVALID_ACL', { ...post('{"resource": {"permissions": "all"}}'), method: 'PUT' });
    await expectError(s, '/api/feature_layer/identify', 422, 'INVALID_GEOMETRY', post('{"srs": 4326, "geom": "POLYGON((0 0, 1 1", "layers": [2]}', {}));
  });
});

describe('layers that cannot be loaded', () => {
  let s: TestServer;
  before(async () => {
    const dir = tempData({ catalog: { resources: [
      { id: 1, cls: 'vector_layer', parent: 0, display_name: 'Missing', source: 'nowhere.geojson' },
      { id: 2, cls: 'vector_layer', parent: 0, display_name: 'Broken JSON', source: 'broken.geojson' },
      { id: 3, cls: 'vector_layer', parent: 0, display_name: 'Unknown CRS', source: 'mars.geojson' },
      { id: 4, cls: 'vector_layer', parent: 0, display_name: 'Fine', source: 'events.geojson' },
      { id: 5, cls: 'vector_layer', parent: 0, display_name: 'Unknown format', source: 'notes.txt' },
      { id: 6, cls: 'vector_layer', parent: 0, display_name: 'CSV without geometry', source: 'plain.csv' },
      ...['gone.csv', 'gone.shp', 'gone.zip', 'gone.gpkg'].map((source, i) => ({ id: 10 + i, cls: 'vector_layer', parent: 0, display_name: source, source })),
    ] } });
    writeFileSync(join(dir, 'broken.geojson'), '{"type":"FeatureCollection","features":[{"type":"Feature",');
    writeFileSync(join(dir, 'mars.geojson'), JSON.stringify({ type: 'FeatureCollection', crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::99999' } },
      features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [1, 2] } }] }));
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    writeFileSync(join(dir, 'plain.csv'), 'a,b\n1,2\n');
    copyFileSync(join(FIXTURES, 'events.geojson'), join(dir, 'events.geojson'));
    s = await startServer({ dataDir: dir });
  });
  after(() => s.stop());

  it('are listed with an error state that says what is wrong', async () => {
    const { body } = await s.json('/api/resource/?parent=0');
    const state = Object.fromEntries(body.map((r: any) => [r.resource.id, [r.vector_layer.status, r.vector_layer.error]]));
    assert.deepEqual(state[4], ['ready', undefined]);
    assert.equal(state[1][0], 'error');
    assert.match(state[1][1], /nowhere\.geojson.*does not exist/);
    assert.match(state[2][1], /not valid JSON/);
    assert.match(state[3][1], /EPSG:99999/);
    assert.match(state[5][1], /unsupported source type/);
    assert.match(state[6][1], /no geometry columns/);
    for (const id of [10, 11, 12, 13]) assert.match(state[id][1], /^source file "gone\.\w+" does not exist$/);
    assert.ok(!JSON.stringify(body).includes(s.services.config.dataDir), 'no absolute paths in what clients see');
  });

  it('answer 503 on their data endpoints while the good layer serves', async () => {
    for (const id of [1, 2, 3, 5, 6, 13]) {
      for (const tail of ['feature/', 'feature/1', 'feature_count', 'extent', 'geojson', 'csv']) {
        await expectError(s, `/api/resource/${id}/${tail}`, 503, 'LAYER_UNAVAILABLE');
      }
    }
    assert.deepEqual((await s.json('/api/resource/4/feature_count')).body, { total_count: 3 });
    assert.equal((await s.get('/api/resource/4/geojson')).status, 200);
  });
});

describe('an unexpected exception', () => {
  it('is logged and answered 500 with the request id, without details, and the server keeps serving', async () => {
    // The error middleware itself, on a real HTTP server, behind a handler that fails on /boom.
    const logged: any[] = [];
    const log = pino(new Writable({ write(chunk, _e, done) { logged.push(JSON.parse(chunk.toString())); done(); } }));
    const app = new Koa();
    app.use(requestId());
    app.use(errorHandler(log));
    app.use((ctx) => {
      if (ctx.path === '/boom') throw new TypeError('secret internals');
      ctx.body = { ok: true };
    });
    const server = createServer(app.callback()).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await fetch(`${base}/boom`, { headers: { 'X-Request-Id': 'req-42' } });
      assert.equal(res.status, 500);
      const body = await res.json() as { code: string; exception: string; status_code: number; request_id: string; message: string };
      assert.equal(body.code, 'INTERNAL_ERROR');
      assert.equal(body.exception, 'nextgisweb.pyramid.exception.InternalServerError');
      assert.equal(body.status_code, 500);
      assert.equal(body.request_id, 'req-42');
      assert.match(body.message, /req-42/);
      assert.doesNotMatch(JSON.stringify(body), /secret internals/);
      const entry = logged.find((l) => l.msg === 'unexpected error');
      assert.equal(entry.id, 'req-42');
      assert.match(entry.err.stack, /secret internals/);
      assert.deepEqual(await (await fetch(`${base}/fine`)).json(), { ok: true });
    } finally {
      server.close();
    }
  });
});
