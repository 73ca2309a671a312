// `npm run seed`: the CLI submits a job to a running server and follows it to the end.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, authServer } from './helpers/auth.js';
import { expectedTiles, farm } from './helpers/farm.js';
import { ROOT, type TestServer } from './helpers/server.js';

function seed(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/seed.ts'), ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '', stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    proc.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('seed CLI', () => {
  let s: TestServer;
  before(async () => { s = await authServer({ env: { MERIDIAN_WORKERS: '2' } }); });
  after(() => s.stop());

  it('creates a job, follows it to completion and exits 0', async () => {
    const bbox = [-10, 40, 25, 55]; // `--bbox -10,…`: a value starting with "-", which parseArgs alone refuses
    const r = await seed(['--url', s.url, '--resource', '2', '--zoom', '0-3', '--bbox', bbox.join(',')], { MERIDIAN_PASSWORD: ADMIN_PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    const id = /^job (\S+) completed/m.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    const job = (await farm(s, 'GET', `/jobs/${id}`)).body;
    const expected = expectedTiles(bbox, [0, 3]);
    assert.deepEqual([job.status, job.progress.tiles_done, job.bbox], ['completed', expected.length, bbox]);
    const store = (await farm(s, 'GET', '/settings/render')).body.formats.mvt;
    for (const t of expected) assert.ok(existsSync(join(store, '2', `${t}.mvt`)), t);
  });

  it('exits 2 on a usage error and 1 when the server refuses the job', async () => {
    const usage = await seed(['--url', s.url, '--zoom', '0-3'], { MERIDIAN_PASSWORD: ADMIN_PASSWORD });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--resource is required/);
    const refused = await seed(['--url', s.url, '--resource', '2', '--zoom', '5-1'], { MERIDIAN_PASSWORD: ADMIN_PASSWORD });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /400 Field "zoom"/);
    const guest = await seed(['--url', s.url, '--resource', '2', '--zoom', '0-1'], {});
    assert.equal(guest.code, 1);
    assert.match(guest.stderr, /401/);
  });
});
