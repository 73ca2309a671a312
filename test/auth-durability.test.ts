// Process-level auth behaviour: the generated administrator password is printed at first start only,
// and writes answered 200 survive SIGKILL. Runs `node --import tsx src/main.ts` as a child (helpers/child.ts).
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { basic } from './helpers/auth.js';
import { startMeridian } from './helpers/child.js';
import { tempData } from './helpers/server.js';

type Child = Awaited<ReturnType<typeof startMeridian>>;

async function kill(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  await child.exited;
}

async function call(child: Child, method: string, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(child.url + path, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() as any };
}

describe('auth state across process deaths', () => {
  const dirs: string[] = [];
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  it('prints a generated administrator password once, and keeps writes answered 200 right before SIGKILL', async () => {
    const dir = tempData({ copySample: true });
    dirs.push(dir);
    const env = { MERIDIAN_PASSWORD_COST: '10' };
    let child = await startMeridian(['--data', dir], env);
    const printed = child.logs.find((e) => e.keyname === 'administrator' && e.password);
    assert.ok(printed, 'the generated password is logged at first start');
    const admin = basic('administrator', printed.password);
    const group = await call(child, 'POST', '/api/component/auth/group/', { keyname: 'editors' }, admin);
    assert.equal(group.status, 200);
    const acl = await call(child, 'PUT', '/api/resource/9', { resource: { permissions: [{ action: 'deny', principal: { keyname: 'everyone' }, scope: 'data', permission: 'read' }] } }, admin);
    assert.equal(acl.status, 200);
    const user = await call(child, 'POST', '/api/component/auth/user/', { keyname: 'durable', password: 'durable-password', member_of: [group.body.id] }, admin);
    assert.equal(user.status, 200);
    await kill(child);

    // Meanwhile catalog.json starts naming the group; such a group cannot be deleted.
    const catalog = JSON.parse(readFileSync(join(dir, 'catalog.json'), 'utf8'));
    catalog.resources[0].permissions = [{ action: 'allow', principal: { keyname: 'editors' }, scope: 'data', permission: 'write' }];
    writeFileSync(join(dir, 'catalog.json'), JSON.stringify(catalog));
    child = await startMeridian(['--data', dir], env);
    try {
      assert.ok(!child.logs.some((l) => JSON.stringify(l).includes(printed.password)), 'the password is not printed again');
      const got = await call(child, 'GET', `/api/component/auth/user/${user.body.id}`, undefined, admin);
      assert.equal(got.status, 200);
      assert.equal(got.body.keyname, 'durable');
      assert.deepEqual(got.body.member_of, [group.body.id]);
      assert.equal((await call(child, 'GET', '/api/component/auth/current_user', undefined, basic('durable', 'durable-password'))).body.keyname, 'durable');
      assert.equal((await call(child, 'GET', '/api/resource/9/feature_count', undefined, {})).status, 401, 'the run-time ACL is still in force');
      const del = await call(child, 'DELETE', `/api/component/auth/group/${group.body.id}`, undefined, admin);
      assert.equal(del.status, 409);
      assert.equal(del.body.code, 'PRINCIPAL_IN_USE');
    } finally {
      await kill(child);
    }
  });
});
