// The built-in map viewer: its static files over HTTP, then the page itself in headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core): the map loads, a layer's tiles are fetched and
// drawn, a click on a known feature shows its fields, and a screenshot lands in test/artifacts/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { VIEWER_DIR } from '../src/routes/viewer.js';
import { ROOT, startServer, tempData, type TestServer } from './helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const ADMIN_PASSWORD = 'viewer-admin-secret';

let server: TestServer;

before(async () => {
  // The page is built by `npm run build`; build it here so the test sees the sources as they are now.
  execFileSync(process.execPath, [join(ROOT, 'viewer', 'build.mjs')], { stdio: 'ignore' });
  // A copy of the sample data: with the auth API, the server keeps its user database in the data folder.
  server = await startServer({ dataDir: tempData({ copySample: true }), env: { MERIDIAN_ADMIN_PASSWORD: ADMIN_PASSWORD } });
});
after(() => server?.stop());

describe('viewer files over HTTP', () => {
  test('GET / is the page, revalidated on every load', async () => {
    const res = await server.get('/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const html = await res.text();
    assert.match(html, /<main id="map">/);
    // fetch adds "Cache-Control: no-cache" to conditional requests unless told otherwise.
    const again = await server.get('/', { headers: { 'If-Modified-Since': res.headers.get('last-modified')!, 'Cache-Control': 'max-age=0' } });
    assert.equal(again.status, 304);
  });

  test('every asset the page names is served, immutable, with its content type and compressed', async () => {
    const html = await (await server.get('/')).text();
    const assets = [...html.matchAll(/(?:href|src)="(viewer\/[^"]+)"/g)].map((m) => m[1]);
    const mapped = /"maplibre-gl": "\.\/(viewer\/[^"]+)"/.exec(html)?.[1];
    assert.ok(mapped, 'the import map names MapLibre');
    const types: Record<string, RegExp> = { js: /javascript/, mjs: /javascript/, css: /^text\/css/ };
    for (const path of [...assets, mapped, mapped.replace('maplibre-gl.mjs', 'maplibre-gl-worker.mjs')]) {
      const res = await server.get('/' + path, { headers: { 'Accept-Encoding': 'gzip' } });
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type')!, types[path.split('.').pop()!], path);
      assert.match(res.headers.get('cache-control')!, /max-age=31536000.*immutable/, path);
      assert.equal(res.headers.get('content-encoding'), 'gzip', path);
      assert.ok((await res.arrayBuffer()).byteLength > 0);
    }
  });

  test('paths outside the viewer folder, hidden files and missing files are refused as JSON', async () => {
    for (const path of ['/viewer/..%2f..%2fpackage.json', '/viewer/%2e%2e/%2e%2e/package.json', '/viewer/.hidden', '/viewer/nope.js']) {
      const { status, body } = await server.json(path);
      assert.ok(status === 400 || status === 404, `${path} → ${status}`);
      assert.ok(body.code === 'NOT_FOUND' || body.code === 'INVALID_PATH', path);
    }
  });

  test('a link in the viewer folder to a file outside it is refused', async () => {
    const outside = join(tmpdir(), `meridian-viewer-outside-${process.pid}.txt`);
    const link = join(VIEWER_DIR, `link-out-${process.pid}.txt`);
    writeFileSync(outside, 'not a viewer file');
    symlinkSync(outside, link);
    try {
      const { status, body } = await server.json(`/viewer/${basename(link)}`);
      assert.deepEqual([status, body.code], [400, 'INVALID_PATH']);
    } finally {
      rmSync(link, { force: true });
      rmSync(outside, { force: true });
    }
  });

  test('a scripted request is refused without a Basic challenge, so the browser shows no login dialog', async () => {
    const wrong = { method: 'POST', body: JSON.stringify({ login: 'administrator', password: 'wrong' }) };
    const plain = await server.get('/api/component/auth/login', { ...wrong, headers: { 'content-type': 'application/json' } });
    assert.equal(plain.status, 401);
    assert.match(plain.headers.get('www-authenticate') ?? '', /^Basic /);
    const scripted = await server.get('/api/component/auth/login',
      { ...wrong, headers: { 'content-type': 'application/json', 'X-Requested-With': 'XMLHttpRequest' } });
    assert.equal(scripted.status, 401);
    assert.equal(scripted.headers.get('www-authenticate'), null);
    assert.equal((await scripted.json() as { code: string }).code, 'INVALID_CREDENTIALS');
  });

  test('features.json says which optional APIs this server has: here, all of them', async () => {
    const probes: Record<string, [string, string]> = {
      mvt: ['GET', '/api/resource/2/0/0/0.mvt'],
      render: ['GET', '/api/component/render/tile?resource=4&z=0&x=0&y=0'],
      identify: ['POST', '/api/feature_layer/identify'],
      auth: ['POST', '/api/component/auth/login'],
      cache: ['GET', '/cache/'],
      pool: ['GET', '/pool/'],
    };
    const features: Record<string, boolean> = (await server.json('/viewer/features.json')).body;
    assert.deepEqual(Object.keys(features).sort(), Object.keys(probes).sort());
    for (const [name, [method, path]] of Object.entries(probes)) {
      const res = await server.get(path, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      const text = await res.text();
      // "No endpoint" is the app's own 404; any other answer (even a 4xx about the request) means the API is there.
      const missing = res.status === 404 && text.includes('"NOT_FOUND"');
      assert.equal(features[name], !missing, `${name}: ${method} ${path} → ${res.status} ${text.slice(0, 120)}`);
    }
    // The tests below use every one of them: a route dropped fails here (and there), not skipped.
    assert.deepEqual(features, Object.fromEntries(Object.keys(probes).map((name) => [name, true])));
  });
});

describe('viewer in headless Chromium', { timeout: 120_000, skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium)` }, () => {
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  const problems: string[] = [];
  const tileRequests: string[] = [];

  before(async () => {
    profile = mkdtempSync(join(tmpdir(), 'meridian-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
        '--no-first-run', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1100, height: 700 },
    });
    page = browser.pages()[0] ?? await browser.newPage();
    // A step that cannot happen fails in seconds rather than holding the suite.
    page.setDefaultTimeout(20_000);
    // Warnings are left out: software WebGL warns about GPU stalls when the screenshot reads pixels back.
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // MapLibre cancels the tile requests a view change makes useless: those aborts are not failures.
    page.on('requestfailed', (r) => {
      if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      const path = new URL(r.url()).pathname;
      if (path.endsWith('.mvt') || path.endsWith('/render/tile')) tileRequests.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(server.url + '/');
    // Callbacks of page.evaluate and waitForFunction run in the page, where globalThis is the window: no DOM
    // types needed (a DOM lib in the type check would apply to every file and retype fetch's answers).
    await page.waitForFunction(() => (globalThis as any).meridianMap?.loaded());
  });

  after(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** Switches Countries' vector tiles on. */
  async function switchOnCountries(): Promise<void> {
    await page.locator('input[data-source="mvt-2"]').check();
  }

  /** The map's pixels as RGBA, decoded from a screenshot. */
  async function mapPixels(): Promise<Buffer> {
    return sharp(await page.locator('#map canvas').screenshot()).ensureAlpha().raw().toBuffer();
  }

  async function clickAt(lon: number, lat: number, double = false): Promise<void> {
    const at = await page.evaluate(([x, y]) => (globalThis as any).meridianMap.project([x, y]), [lon, lat]);
    const box = (await page.locator('#map').boundingBox())!;
    await (double ? page.mouse.dblclick : page.mouse.click).call(page.mouse, box.x + at.x, box.y + at.y);
  }

  test('the map loads and the tree lists the catalog', async () => {
    await page.getByText('Countries', { exact: true }).waitFor();
    const names = await page.locator('#tree label').allTextContents();
    const expected = (await server.json('/api/resource/?parent=1')).body.map((r: any) => r.resource.display_name);
    for (const name of expected) assert.ok(names.some((n) => n.trim() === name), `${name} in ${names}`);
    assert.equal(await page.locator('#status').textContent(), '');
  });

  test('a PostGIS layer (its block named postgis_layer) gets a tile toggle and its geometry type too', async () => {
    // The tree as a server whose Countries live in PostGIS lists it: same ids, another class.
    await page.route(/\/api\/resource\/\?parent=/, async (route) => {
      const response = await route.fetch();
      const json = (await response.json()).map((r: any) => {
        if (r.resource.id !== 2) return r;
        const { vector_layer: block, ...rest } = r;
        return { ...rest, resource: { ...r.resource, cls: 'postgis_layer' }, postgis_layer: { ...block, schema: 'public', table: 'countries' } };
      });
      await route.fulfill({ response, json });
    });
    try {
      await page.reload();
      await page.waitForFunction(() => (globalThis as any).meridianMap?.loaded());
      const toggle = page.locator('input[data-source="mvt-2"]');
      await toggle.waitFor();
      assert.equal(await toggle.isEnabled(), true);
      const row = page.locator('li.layer', { has: toggle });
      assert.equal((await row.locator('.geometry').textContent())?.trim(), (await server.json('/api/resource/2')).body.vector_layer.geometry_type.toLowerCase());
    } finally {
      await page.unroute(/\/api\/resource\/\?parent=/);
      await page.reload();
      await page.waitForFunction(() => (globalThis as any).meridianMap?.loaded());
    }
  });

  test('logging in and out through the form', async () => {
    const form = page.locator('#login');
    await form.locator('input[name="login"]').fill('administrator');
    await form.locator('input[name="password"]').fill('not the password');
    const refused = page.waitForResponse((r) => r.url().endsWith('/api/component/auth/login'));
    await form.locator('#login-button').click();
    assert.equal((await refused).status(), 401);
    await page.locator('#login-error').filter({ hasText: /\S/ }).waitFor();
    // That refusal was the point of the step, not a problem of the page.
    const expected = (p: string) => (p.startsWith('HTTP 401') && p.endsWith('/api/component/auth/login'))
      || p === 'console error: Failed to load resource: the server responded with a status of 401 (Unauthorized)';
    problems.splice(0, problems.length, ...problems.filter((p) => !expected(p)));

    await form.locator('input[name="password"]').fill(ADMIN_PASSWORD);
    await Promise.all([page.waitForEvent('load'), form.locator('#login-button').click()]);
    await page.waitForFunction(() => (globalThis as any).meridianMap?.loaded());
    await page.getByText('Signed in as').waitFor();
    const me = await page.evaluate(() => fetch('api/component/auth/current_user').then((r) => r.json() as Promise<{ keyname: string }>));
    assert.equal(me.keyname, 'administrator');

    await page.locator('#admin-refresh').click();
    await page.locator('#admin-content h3').first().waitFor();
    assert.equal(await page.locator('#admin-content .error').count(), 0, await page.locator('#admin-content').innerText());

    await Promise.all([page.waitForEvent('load'), page.locator('#logout-button').click()]);
    await page.waitForFunction(() => (globalThis as any).meridianMap?.loaded());
    await form.locator('input[name="login"]').waitFor();
    assert.equal((await page.evaluate(() => fetch('api/component/auth/current_user').then((r) => r.json() as Promise<{ keyname: string }>))).keyname, 'guest');
    assert.equal(await page.locator('#admin').isVisible(), false, 'the administration panel is not offered to guests');
  });

  test('switching a layer on fetches its vector tiles and draws its features', async () => {
    await page.locator('input[data-source="mvt-2"]').check();
    await page.waitForFunction(() => (globalThis as any).meridianMap.areTilesLoaded() && (globalThis as any).meridianMap.loaded());
    assert.ok(tileRequests.some((r) => /^200 .*\/api\/resource\/2\/\d+\/\d+\/\d+\.mvt$/.test(r)), tileRequests.join('\n'));
    const drawn = await page.evaluate(() => (globalThis as any).meridianMap.queryRenderedFeatures({ layers: ['mvt-2-fill'] })
      .map((f: any) => f.properties.name));
    const all = (await server.json('/api/resource/2/feature/?geom=no')).body.map((f: any) => f.fields.name);
    assert.ok(drawn.length > 20, `only ${drawn.length} countries drawn`);
    for (const name of drawn) assert.ok(all.includes(name), `${name} drawn but not in the layer`);
  });

  test('switching a style on fetches its rendered tiles and shows them', async () => {
    const background = await mapPixels();
    await page.locator('input[data-source="render-4"]').check();
    await page.waitForFunction(() => (globalThis as any).meridianMap.areTilesLoaded() && (globalThis as any).meridianMap.loaded());
    assert.ok(tileRequests.some((r) => /^200 .*\/api\/component\/render\/tile\?resource=4&/.test(r)), tileRequests.join('\n'));
    const shown = await mapPixels();
    let changed = 0;
    for (let i = 0; i < shown.length; i += 4) if (shown[i] !== background[i] || shown[i + 1] !== background[i + 1] || shown[i + 2] !== background[i + 2]) changed++;
    assert.ok(changed > shown.length / 4 / 20, `only ${changed} pixels changed when the style was switched on`);
    await page.locator('input[data-source="render-4"]').uncheck();
  });

  test('zoom to extent fits the layer on the map', async () => {
    const { extent: e } = (await server.json('/api/resource/9/extent')).body;
    const bounds = () => page.evaluate(() => (globalThis as any).meridianMap.getBounds().toArray());
    const holdsExtent = ([[w, s], [east, n]]: number[][]) => w <= e.minLon && s <= e.minLat && east >= e.maxLon && n >= e.maxLat;
    await page.evaluate(() => (globalThis as any).meridianMap.jumpTo({ center: [20, 0], zoom: 5 }));
    assert.ok(!holdsExtent(await bounds()), 'zoomed in, the view does not hold the whole layer');
    const moved = page.evaluate(() => new Promise((resolve) => (globalThis as any).meridianMap.once('moveend', resolve)));
    await page.locator('li.layer', { has: page.locator('input[data-source="mvt-9"]') }).locator('button.zoom').click();
    await moved;
    const after = await bounds();
    assert.ok(holdsExtent(after), `bounds ${after} hold extent ${JSON.stringify(e)}`);
  });

  test('a click on a known feature shows its fields', async () => {
    await switchOnCountries();
    const [lon, lat] = [134, -25];
    const expected = (await server.json(`/api/resource/2/feature/?intersects=POINT(${lon} ${lat})&srs=4326&geom=no`)).body;
    assert.equal(expected.length, 1, 'exactly one country holds the clicked point');
    await page.evaluate(([x, y]) => (globalThis as any).meridianMap.jumpTo({ center: [x, y], zoom: 2 }), [lon, lat]);
    await clickAt(lon, lat);
    const popup = page.locator('.maplibregl-popup .identify');
    await popup.waitFor();
    const text = await popup.innerText();
    for (const [field, value] of Object.entries(expected[0].fields)) {
      assert.ok(text.includes(field) && text.includes(String(value)), `${field}=${value} in popup:\n${text}`);
    }
  });

  test('a drawn polygon identifies what it touches', async () => {
    await switchOnCountries();
    await page.evaluate(() => (globalThis as any).meridianMap.jumpTo({ center: [10, 48], zoom: 2 }));
    await page.locator('#draw').click();
    const sent = page.waitForRequest((r) => r.url().endsWith('/api/feature_layer/identify'));
    const ring = [[-10, 35], [30, 35], [30, 60], [-10, 60]];
    for (const [lon, lat] of ring) await clickAt(lon, lat);
    await clickAt(ring[3][0], ring[3][1], true);
    const body = (await sent).postDataJSON();
    assert.equal(body.srs, 4326);
    assert.deepEqual(body.layers, [2]);
    // What the feature API says intersects the very polygon the page sent.
    const expected = (await server.json(`/api/resource/2/feature/?intersects=${encodeURIComponent(body.geom)}&srs=4326&geom=no`)).body;
    assert.ok(expected.length > 10, `${expected.length} countries in Europe and around`);
    const popup = page.locator('.maplibregl-popup .identify');
    await popup.getByText(`Countries (${expected.length})`).waitFor();
    const shown = await popup.locator('table').count();
    assert.equal(shown, Math.min(expected.length, 20));
  });

  test('no console errors, failed requests or error statuses; a screenshot is saved', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'viewer.png') });
    assert.deepEqual(problems, []);
    assert.equal(await page.locator('#status').textContent(), '');
  });
});
