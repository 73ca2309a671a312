// Resource ACLs: catalog rules, inheritance with propagate, deny over allow, group rules, run-time
// changes, the permission endpoint, and hiding what a caller may not read.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN, AUTH_ENV, authServer, basic, createGroup, createUser, send } from './helpers/auth.js';
import { holdNextCall } from './helpers/hold.js';
import { SAMPLE_DATA, startServer, tempData, type TestServer } from './helpers/server.js';

const sample = JSON.parse(readFileSync(join(SAMPLE_DATA, 'catalog.json'), 'utf8'));
const rule = (action: string, keyname: string, scope: string, permission: string, propagate = true) =>
  ({ action, principal: { keyname }, scope, permission, propagate });

/** The sample tree, where everyone sees resources, World's data is public except Parallels', Places' data needs a login. */
function aclCatalog() {
  const extra: Record<number, unknown[]> = {
    1: [rule('allow', 'everyone', 'data', 'read'), rule('allow', 'everyone', 'datastruct', 'read')],
    6: [rule('deny', 'everyone', 'data', 'read', false)],
    8: [rule('allow', 'authenticated', 'data', 'read')],
  };
  return {
    permissions: [rule('allow', 'everyone', 'resource', 'read')],
    resources: sample.resources.map((r: any) => (extra[r.id] ? { ...r, permissions: extra[r.id] } : r)),
  };
}

describe('resource ACLs', () => {
  let s: TestServer;
  let bob: Record<string, string>, carol: Record<string, string>;
  let bobId: number;
  before(async () => {
    s = await authServer({ catalog: aclCatalog() });
    bobId = await createUser(s, 'bob', 'bob-password');
    const carolId = await createUser(s, 'carol', 'carol-password');
    await createGroup(s, 'analysts', [carolId]);
    bob = basic('bob', 'bob-password');
    carol = basic('carol', 'carol-password');
  });
  after(() => s.stop());

  const status = async (path: string, headers: Record<string, string> = {}) => (await s.get(path, { headers })).status;

  it('inherits propagating rules down the tree', async () => {
    assert.equal(await status('/api/resource/2/feature_count'), 200, 'World allows everyone data.read, Countries inherits it');
    assert.equal(await status('/api/resource/3/qml'), 200, 'the style inherits it too');
    assert.equal(await status('/api/resource/9/feature_count'), 401, 'Places allows only authenticated callers');
    assert.equal(await status('/api/resource/9/feature_count', bob), 200);
    assert.equal(await status('/api/resource/11/feature_count', bob), 200);
  });

  it('applies a non-propagating rule to its resource only, and a style needs its layer\'s data', async () => {
    const denied = await s.json('/api/resource/6/feature_count');
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get('www-authenticate')!, /Basic/);
    assert.equal(await status('/api/resource/6/feature_count', bob), 403);
    assert.equal(await status('/api/resource/7/qml', bob), 403, 'style 7 holds data.read itself but its layer 6 is denied');
    assert.equal(await status('/api/resource/6'), 200, 'resource.read is still allowed');
  });

  it('allows administrators everything', async () => {
    assert.equal(await status('/api/resource/6/feature_count', ADMIN), 200);
    assert.equal(await status('/api/resource/7/qml', ADMIN), 200);
  });

  it('lets deny beat allow, wherever the allow is', async () => {
    assert.equal((await send(s, 'PUT', '/api/resource/11', { resource: { permissions: [rule('allow', 'bob', 'data', 'read'), rule('deny', 'authenticated', 'data', 'read')] } })).status, 200);
    assert.equal(await status('/api/resource/11/feature_count', bob), 403, 'deny authenticated beats allow bob on the same resource');
    assert.equal((await send(s, 'PUT', '/api/resource/11', { resource: { permissions: [rule('allow', 'bob', 'data', 'read')] } })).status, 200);
    assert.equal((await send(s, 'PUT', '/api/resource/8', { resource: { permissions: [rule('deny', 'bob', 'data', 'read')] } })).status, 200);
    assert.equal(await status('/api/resource/11/feature_count', bob), 403, 'a propagated deny beats an allow on the resource itself');
  });

  it('applies group rules to members only, and run-time ACLs replace catalog ones', async () => {
    assert.equal((await send(s, 'PUT', '/api/resource/8', { resource: { permissions: [rule('allow', 'analysts', 'data', 'read')] } })).status, 200);
    assert.equal((await send(s, 'PUT', '/api/resource/11', { resource: { permissions: [] } })).status, 200);
    assert.equal(await status('/api/resource/9/feature_count', carol), 200, 'carol is an analyst');
    assert.equal(await status('/api/resource/9/feature_count', bob), 403, 'the catalog\'s "authenticated" rule on 8 was replaced');
    const json = await s.json('/api/resource/8');
    assert.equal(json.body.resource.permissions.length, 1);
    assert.equal(json.body.resource.permissions[0].action, 'allow');
    assert.equal(json.body.resource.permissions[0].scope, 'data');
  });

  it('hides resources the caller may not read from children listings, and refuses them directly', async () => {
    assert.equal((await send(s, 'PUT', '/api/resource/11', { resource: { permissions: [rule('deny', 'everyone', 'resource', 'read')] } })).status, 200);
    const ids = async (headers: Record<string, string>) => (await s.json('/api/resource/?parent=8', { headers })).body.map((r: any) => r.resource.id);
    assert.deepEqual(await ids(bob), [9]);
    assert.deepEqual(await ids({}), [9]);
    assert.deepEqual(await ids(ADMIN), [11, 9], 'Capitals before Sites');
    assert.equal(await status('/api/resource/11', bob), 403);
    assert.equal(await status('/api/resource/11'), 401);
    assert.equal(await status('/api/resource/11/permission', bob), 403);
    assert.equal(await status('/api/resource/?parent=11', bob), 403);
    // A resource whose only child is hidden does not say it has children.
    assert.equal((await send(s, 'PUT', '/api/resource/7', { resource: { permissions: [rule('deny', 'everyone', 'resource', 'read')] } })).status, 200);
    assert.equal((await s.json('/api/resource/6', { headers: bob })).body.resource.children, false);
    assert.equal((await s.json('/api/resource/?parent=1', { headers: bob })).body.find((r: any) => r.resource.id === 6).resource.children, false);
    assert.equal((await s.json('/api/resource/6', { headers: ADMIN })).body.resource.children, true);
  });

  it('reports effective permissions in NGW\'s shape, for the caller or (holding change_permissions) another user', async () => {
    const mine = await s.json('/api/resource/2/permission');
    assert.equal(mine.status, 200);
    assert.deepEqual(Object.keys(mine.body).sort(), ['data', 'datastruct', 'metadata', 'resource']);
    assert.equal(mine.body.resource.read, true);
    assert.equal(mine.body.data.read, true);
    assert.equal(mine.body.data.write, false);
    assert.equal(mine.body.resource.change_permissions, false);
    assert.equal((await s.json('/api/resource/6/permission', { headers: bob })).body.data.read, false);
    const admin = await s.json('/api/resource/6/permission', { headers: ADMIN });
    assert.ok(Object.values(admin.body).every((scope: any) => Object.values(scope).every((v) => v === true)));
    const forBob = await s.json(`/api/resource/9/permission?user=${bobId}`, { headers: ADMIN });
    assert.equal(forBob.body.data.read, false);
    assert.equal(forBob.body.resource.read, true);
    const group = await s.json('/api/resource/8/permission');
    assert.deepEqual(Object.keys(group.body).sort(), ['metadata', 'resource']);
    assert.equal((await s.json(`/api/resource/2/permission?user=${bobId}`, { headers: carol })).status, 403);
    assert.equal((await s.json(`/api/resource/2/permission?user=${bobId}`)).status, 401);
    // change_permissions on a resource, not administration, lets carol see bob's there, and only there.
    assert.equal((await send(s, 'PUT', '/api/resource/2', { resource: { permissions: [rule('allow', 'carol', 'resource', 'change_permissions', false)] } })).status, 200);
    const bobsSeenByCarol = await s.json(`/api/resource/2/permission?user=${bobId}`, { headers: carol });
    assert.equal(bobsSeenByCarol.status, 200);
    assert.equal(bobsSeenByCarol.body.resource.change_permissions, false);
    assert.equal((await s.json(`/api/resource/3/permission?user=${bobId}`, { headers: carol })).status, 403, 'the rule does not propagate');
    assert.equal((await send(s, 'PUT', '/api/resource/2', { resource: { permissions: [] } })).status, 200);
    assert.equal((await s.json(`/api/resource/2/permission?user=${bobId}`, { headers: bob })).status, 200);
    assert.equal((await s.json('/api/resource/2/permission?user=999', { headers: ADMIN })).status, 404);
    assert.equal((await s.json('/api/resource/2/permission?user=abc', { headers: ADMIN })).status, 400);
  });

  it('keeps an ACL set while ACLs are re-read (a user deleted) in force', async () => {
    const doraId = await createUser(s, 'dora', 'dora-password');
    // The re-read waits, once it has read the database, until the ACL below has been set.
    const hold = holdNextCall(s.services.auth.store, 'aclOverrides');
    try {
      const deleting = s.json(`/api/component/auth/user/${doraId}`, { method: 'DELETE', headers: ADMIN });
      await hold.reached;
      assert.equal((await send(s, 'PUT', '/api/resource/2', { resource: { permissions: [rule('deny', 'everyone', 'data', 'read')] } })).status, 200);
      hold.release();
      assert.equal((await deleting).status, 200);
      assert.equal(await status('/api/resource/2/feature_count'), 401);
    } finally {
      hold.release();
      assert.equal((await send(s, 'PUT', '/api/resource/2', { resource: { permissions: [] } })).status, 200);
    }
  });

  it('validates ACL changes and keeps them to callers holding change_permissions', async () => {
    const put = (permissions: unknown, headers = ADMIN) => send(s, 'PUT', '/api/resource/2', { resource: { permissions } }, headers);
    const bad: unknown[] = [
      'all', [{ action: 'maybe', principal: { keyname: 'everyone' } }], [{ action: 'allow', principal: { keyname: 'nobody' } }],
      [{ action: 'allow', principal: { id: 424242 } }], [{ action: 'allow', principal: { keyname: 'everyone' }, scope: 'files' }],
      [{ action: 'allow', principal: { keyname: 'everyone' }, permission: 'read' }],
      [{ action: 'allow', principal: { keyname: 'everyone' }, scope: 'data', permission: 'fly' }],
      [{ action: 'allow', principal: { keyname: 'everyone' }, identity: 'teapot' }],
      [{ action: 'allow', principal: { keyname: 'everyone' }, propagate: 'yes' }],
      [{ action: 'allow', principal: { keyname: 'everyone' }, colour: 'red' }],
      // Names every object has: not scopes.
      ...['__proto__', 'constructor', 'hasOwnProperty'].flatMap((scope) => [
        [{ action: 'allow', principal: { keyname: 'everyone' }, scope, permission: 'read' }],
        [{ action: 'allow', principal: { keyname: 'everyone' }, scope, permission: '' }],
      ]),
    ];
    for (const permissions of bad) {
      const r = await put(permissions);
      assert.equal(r.status, 400, JSON.stringify(permissions));
      assert.equal(r.body.code, 'INVALID_ACL');
    }
    // A principal was quoted back whole: one holding 10,000 nested lists overflowed the stack (a 500).
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    for (const principal of [`{"id": 424242, "note": ${deep}}`, `{"id": ${deep}}`]) {
      const r = await s.json('/api/resource/2', { method: 'PUT', headers: { 'content-type': 'application/json', ...ADMIN },
        body: `{"resource": {"permissions": [{"action": "allow", "principal": ${principal}}]}}` });
      assert.deepEqual([r.status, r.body.code], [400, 'INVALID_ACL']);
    }
    assert.equal((await send(s, 'PUT', '/api/resource/2', { resource: { display_name: 'x' } })).status, 422);
    assert.equal((await put([], bob)).status, 403);
    assert.equal((await put([], {})).status, 401);
    assert.equal((await send(s, 'PUT', '/api/resource/999', { resource: { permissions: [] } })).status, 404);
    assert.equal(await status('/api/resource/2/feature_count'), 200, 'nothing changed');
  });
});

describe('ACLs in catalog.json are checked at start', () => {
  const bad = (permissions: unknown, id = 2) => ({ resources: sample.resources.map((r: any) => (r.id === id ? { ...r, permissions } : r)) });
  for (const [name, catalog, message] of [
    ['an unknown action', bad([{ action: 'maybe', principal: { keyname: 'everyone' } }]), /resource 2: permissions\[0\]\.action/],
    ['an unknown principal', bad([{ action: 'allow', principal: { keyname: 'nobody' } }]), /resource 2: permissions\[0\]\.principal/],
    ['not a list', bad({ allow: 'all' }), /resource 2: "permissions" must be a list/],
  ] as const) {
    it(`refuses ${name}`, async () => {
      await assert.rejects(startServer({ dataDir: tempData({ copySample: true, catalog }), env: AUTH_ENV }), message);
    });
  }
});
