// The NGW auth API: users, groups, login, sessions, Basic auth, registration, and how passwords are kept.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ADMIN, authServer, basic, createUser, send } from './helpers/auth.js';
import { holdNextCall } from './helpers/hold.js';
import type { TestServer } from './helpers/server.js';

const AUTH = '/api/component/auth';

function sessionCookie(res: Response): string {
  const set = res.headers.getSetCookie().find((c) => c.startsWith('ngw_sid='));
  assert.ok(set, 'a session cookie is set');
  return set;
}

describe('auth API', () => {
  let s: TestServer;
  before(async () => { s = await authServer(); });
  after(() => s.stop());

  it('answers current_user for a guest', async () => {
    const { status, body } = await s.json(`${AUTH}/current_user`);
    assert.equal(status, 200);
    assert.equal(body.keyname, 'guest');
    assert.equal(body.auth_medium, null);
  });

  it('keeps user management to administrators: 401 with WWW-Authenticate for guests, 403 for users', async () => {
    const guest = await s.json(`${AUTH}/user/`);
    assert.equal(guest.status, 401);
    assert.match(guest.headers.get('www-authenticate')!, /^Basic realm="Meridian"/);
    assert.equal(guest.body.code, 'UNAUTHORIZED');
    await createUser(s, 'plain', 'plain-password');
    for (const path of ['/user/', '/user/1', '/group/']) {
      const r = await s.json(AUTH + path, { headers: basic('plain', 'plain-password') });
      assert.equal(r.status, 403, path);
      assert.equal(r.body.code, 'FORBIDDEN');
    }
    assert.equal((await send(s, 'POST', `${AUTH}/user/`, { keyname: 'x1', password: 'long-enough' }, basic('plain', 'plain-password'))).status, 403);
  });

  it('creates, reads, lists, updates and deletes a user; the password never comes back', async () => {
    const created = await send(s, 'POST', `${AUTH}/user/`, { keyname: 'bob', display_name: 'Bob B.', password: 'bob-password', description: 'tester' });
    assert.equal(created.status, 200);
    assert.deepEqual(Object.keys(created.body), ['id']);
    const id = created.body.id;
    const got = await s.json(`${AUTH}/user/${id}`, { headers: ADMIN });
    assert.equal(got.status, 200);
    assert.equal(got.body.keyname, 'bob');
    assert.equal(got.body.display_name, 'Bob B.');
    assert.equal(got.body.password, true);
    assert.equal(got.body.disabled, false);
    const list = await s.json(`${AUTH}/user/`, { headers: ADMIN });
    assert.ok(list.body.some((u: any) => u.id === id));
    for (const text of [JSON.stringify(got.body), JSON.stringify(list.body)]) {
      assert.ok(!text.includes('bob-password') && !text.includes('scrypt'), 'no password or hash in the answer');
    }
    const put = await send(s, 'PUT', `${AUTH}/user/${id}`, { display_name: 'Robert' });
    assert.equal(put.status, 200);
    assert.equal((await s.json(`${AUTH}/user/${id}`, { headers: ADMIN })).body.display_name, 'Robert');
    // GET then PUT back (with its read-only fields) is accepted.
    const again = await s.json(`${AUTH}/user/${id}`, { headers: ADMIN });
    assert.equal((await send(s, 'PUT', `${AUTH}/user/${id}`, again.body)).status, 200);
    assert.equal((await send(s, 'DELETE', `${AUTH}/user/${id}`, undefined)).status, 200);
    assert.equal((await s.json(`${AUTH}/user/${id}`, { headers: ADMIN })).status, 404);
  });

  it('rejects bad user input with a 4xx naming the problem', async () => {
    const cases: [unknown, number, string][] = [
      [{ password: 'long-enough' }, 400, 'INVALID_FIELD'],
      [{ keyname: '1abc', password: 'long-enough' }, 400, 'INVALID_FIELD'],
      [{ keyname: 'a b', password: 'long-enough' }, 400, 'INVALID_FIELD'],
      [{ keyname: 'shorty', password: 'short' }, 400, 'INVALID_FIELD'],
      [{ keyname: 'nopass' }, 400, 'INVALID_FIELD'],
      [{ keyname: 'extra', password: 'long-enough', colour: 'red' }, 400, 'INVALID_FIELD'],
      [{ keyname: 'grp', password: 'long-enough', member_of: [9999] }, 400, 'INVALID_FIELD'],
      [{ keyname: 'dis', password: 'long-enough', disabled: 'yes' }, 400, 'INVALID_FIELD'],
      [{ keyname: 'ADMINISTRATOR', password: 'long-enough' }, 409, 'KEYNAME_TAKEN'],
      // A group's keyname too: catalog.json's ACL rules name principals by keyname.
      [{ keyname: 'Administrators', password: 'long-enough' }, 409, 'KEYNAME_TAKEN'],
      [[1, 2], 400, 'INVALID_BODY'],
    ];
    for (const [body, status, code] of cases) {
      const r = await send(s, 'POST', `${AUTH}/user/`, body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(r.body.code, code, JSON.stringify(body));
    }
    const broken = await s.json(`${AUTH}/user/`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'application/json' }, body: '{"keyname": ' });
    assert.equal(broken.status, 400);
    assert.equal((await s.json(`${AUTH}/user/abc`, { headers: ADMIN })).status, 400);
    // Ids are 32-bit (a PostgreSQL integer column): a larger one is a bad parameter, not a database error.
    assert.equal((await s.json(`${AUTH}/user/3000000000`, { headers: ADMIN })).status, 400);
    assert.equal((await send(s, 'POST', `${AUTH}/user/`, { keyname: 'big', password: 'big-password', member_of: [3_000_000_000] })).status, 400);
    assert.equal((await s.json(`${AUTH}/user/999`, { headers: ADMIN })).status, 404);
    assert.equal((await send(s, 'PUT', `${AUTH}/user/999`, {})).status, 404);
    assert.equal((await send(s, 'DELETE', `${AUTH}/user/999`, undefined)).status, 404);
    assert.equal((await send(s, 'PUT', `${AUTH}/user/1`, { keyname: 'plain' })).status, 422);
  });

  it('creates a keyname once when several requests ask for it at once: the others get 409, not a 500', async () => {
    // Each passes the check that the keyname is free while the first hashes its password; the database refuses the rest.
    const answers = await Promise.all(Array.from({ length: 4 }, () => send(s, 'POST', `${AUTH}/user/`, { keyname: 'twin', password: 'twin-password' })));
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 409, 409, 409], JSON.stringify(answers.map((r) => r.body)));
    for (const r of answers.filter((a) => a.status === 409)) assert.equal(r.body.code, 'KEYNAME_TAKEN');
    assert.equal((await s.json(`${AUTH}/user/`, { headers: ADMIN })).body.filter((u: { keyname: string }) => u.keyname === 'twin').length, 1);
  });

  it('protects system users: no deleting, disabling, renaming, or passwords for pseudo-users', async () => {
    const users = (await s.json(`${AUTH}/user/`, { headers: ADMIN })).body;
    const id = (k: string) => users.find((u: any) => u.keyname === k).id;
    for (const k of ['administrator', 'guest', 'everyone', 'authenticated', 'owner']) {
      const del = await send(s, 'DELETE', `${AUTH}/user/${id(k)}`, undefined);
      assert.equal(del.status, 422, k);
      assert.equal(del.body.code, 'SYSTEM_PRINCIPAL');
      assert.equal((await send(s, 'PUT', `${AUTH}/user/${id(k)}`, { disabled: true })).status, 422, k);
      assert.equal((await send(s, 'PUT', `${AUTH}/user/${id(k)}`, { keyname: `${k}2` })).status, 422, k);
    }
    assert.equal((await send(s, 'PUT', `${AUTH}/user/${id('guest')}`, { password: 'guest-password' })).status, 422);
    const groups = (await s.json(`${AUTH}/group/`, { headers: ADMIN })).body;
    const admins = groups.find((g: any) => g.keyname === 'administrators');
    assert.ok(admins.members.includes(id('administrator')));
    assert.equal((await send(s, 'DELETE', `${AUTH}/group/${admins.id}`, undefined)).status, 422);
  });

  it('manages groups, and membership of administrators makes an administrator', async () => {
    const carol = await createUser(s, 'carol', 'carol-password');
    const created = await send(s, 'POST', `${AUTH}/group/`, { keyname: 'editors', display_name: 'Editors', members: [carol] });
    assert.equal(created.status, 200);
    const gid = created.body.id;
    const got = await s.json(`${AUTH}/group/${gid}`, { headers: ADMIN });
    assert.deepEqual([got.body.keyname, got.body.display_name, got.body.members], ['editors', 'Editors', [carol]]);
    assert.deepEqual((await s.json(`${AUTH}/user/${carol}`, { headers: ADMIN })).body.member_of, [gid]);
    assert.equal((await send(s, 'POST', `${AUTH}/group/`, { keyname: 'Editors' })).status, 409);
    for (const keyname of ['Carol', 'everyone', 'administrator']) {
      assert.equal((await send(s, 'POST', `${AUTH}/group/`, { keyname })).status, 409, `a group named as user ${keyname}`);
    }
    assert.equal((await send(s, 'PUT', `${AUTH}/user/${carol}`, { keyname: 'EDITORS' })).status, 409, 'a user renamed as a group');
    assert.equal((await send(s, 'POST', `${AUTH}/group/`, { keyname: 'bad group' })).status, 400);
    assert.equal((await send(s, 'POST', `${AUTH}/group/`, { keyname: 'ghosts', members: [4242] })).status, 400);
    const everyone = (await s.json(`${AUTH}/user/`, { headers: ADMIN })).body.find((u: any) => u.keyname === 'everyone').id;
    assert.equal((await send(s, 'POST', `${AUTH}/group/`, { keyname: 'all', members: [everyone] })).status, 400);
    assert.equal((await send(s, 'PUT', `${AUTH}/group/${gid}`, { members: [] })).status, 200);
    assert.deepEqual((await s.json(`${AUTH}/group/${gid}`, { headers: ADMIN })).body.members, []);
    assert.equal((await send(s, 'DELETE', `${AUTH}/group/${gid}`, undefined)).status, 200);
    assert.equal((await s.json(`${AUTH}/group/${gid}`, { headers: ADMIN })).status, 404);

    const carolAuth = basic('carol', 'carol-password');
    assert.equal((await s.json(`${AUTH}/user/`, { headers: carolAuth })).status, 403);
    const admins = (await s.json(`${AUTH}/group/`, { headers: ADMIN })).body.find((g: any) => g.keyname === 'administrators');
    await send(s, 'PUT', `${AUTH}/group/${admins.id}`, { members: [...admins.members, carol] });
    assert.equal((await s.json(`${AUTH}/user/`, { headers: carolAuth })).status, 200);
  });

  it('logs in with JSON or a form, keeps a HttpOnly SameSite cookie session, and logs out', async () => {
    const id = await createUser(s, 'dave', 'dave-password');
    const json = await s.get(`${AUTH}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'dave', password: 'dave-password' }) });
    assert.equal(json.status, 200);
    assert.deepEqual(await json.json(), { id, keyname: 'dave', display_name: 'dave' });
    const cookie = sessionCookie(json);
    assert.match(cookie, /httponly/i);
    assert.match(cookie, /samesite=lax/i);
    const form = await s.get(`${AUTH}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'keyname=dave&password=dave-password' });
    assert.equal(form.status, 200);
    const token = sessionCookie(form).split(';')[0];
    const me = await s.json(`${AUTH}/current_user`, { headers: { cookie: token } });
    assert.equal(me.body.keyname, 'dave');
    assert.equal(me.body.auth_medium, 'session');
    assert.equal((await s.json(`${AUTH}/logout`, { method: 'POST', headers: { cookie: token } })).status, 200);
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: { cookie: token } })).body.keyname, 'guest');
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: { cookie: 'ngw_sid=forged' } })).body.keyname, 'guest');
  });

  it('refuses changes that a page of another origin sends with the session cookie or Basic credentials, and logins from one', async () => {
    const other = 'http://127.0.0.1:1';
    const self = new URL(s.url).origin;
    const login = (origin?: string) => s.get(`${AUTH}/login`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
      body: JSON.stringify({ login: 'administrator', password: 'admin-secret-1' }),
    });
    const refusedLogin = await login(other);
    assert.equal(refusedLogin.status, 403);
    assert.equal((await refusedLogin.json() as { code: string }).code, 'CROSS_ORIGIN_REQUEST');
    assert.equal(refusedLogin.headers.getSetCookie().length, 0);
    const cookie = sessionCookie(await login()).split(';')[0];
    // A form-like body (text/plain) is what a page can send without asking CORS first.
    const create = (keyname: string, headers: Record<string, string>) => s.json(`${AUTH}/user/`, {
      method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body: JSON.stringify({ keyname, password: 'forged-password' }),
    });
    for (const origin of [other, 'null', `${self}.evil.example`]) {
      const r = await create('forged', { cookie, origin });
      assert.equal(r.status, 403, origin);
      assert.equal(r.body.code, 'CROSS_ORIGIN_REQUEST');
    }
    assert.ok(!(await s.json(`${AUTH}/user/`, { headers: ADMIN })).body.some((u: { keyname: string }) => u.keyname === 'forged'));
    assert.equal((await s.json(`${AUTH}/user/`, { headers: { cookie, origin: other } })).status, 200, 'reads are not refused');
    assert.equal((await create('same-origin', { cookie, origin: self })).status, 200, 'the server\'s own pages may');
    assert.equal((await create('no-origin', { cookie })).status, 200, 'clients that are not browsers send no Origin');
    // A browser sends the Basic credentials typed into its dialog with a form another site posts.
    const basicForged = await create('basic-cross', { ...ADMIN, origin: other });
    assert.equal(basicForged.status, 403);
    assert.equal(basicForged.body.code, 'CROSS_ORIGIN_REQUEST');
    // The message points to this server's origin, not the page's, and offers no way round it.
    assert.equal(basicForged.body.message, `A POST from ${other} may not use this server's session or credentials (or log in): send it from ${self}.`);
    assert.equal((await send(s, 'PUT', '/api/resource/2', { resource: { permissions: [] } }, { ...ADMIN, origin: 'null' })).status, 403);
    assert.ok(!(await s.json(`${AUTH}/user/`, { headers: ADMIN })).body.some((u: { keyname: string }) => u.keyname === 'basic-cross'));
    assert.equal((await create('basic-same', { ...ADMIN, origin: self })).status, 200);
  });

  it('treats an expired session as a guest, and sweeps expired sessions at the next login', async () => {
    const login = () => s.get(`${AUTH}/login`, { method: 'POST', body: JSON.stringify({ login: 'dave', password: 'dave-password' }) });
    const token = sessionCookie(await login()).split(';')[0];
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: { cookie: token } })).body.keyname, 'dave');
    const db = new Database(s.services.config.database);
    try {
      db.prepare('UPDATE session SET expires_at = ?').run(Date.now() - 1000);
      assert.equal((await s.json(`${AUTH}/current_user`, { headers: { cookie: token } })).body.keyname, 'guest');
      await login();
      const rows = db.prepare('SELECT expires_at FROM session').all() as { expires_at: number }[];
      assert.equal(rows.length, 1, 'only the new session is left');
      assert.ok(rows[0].expires_at > Date.now());
    } finally {
      db.close();
    }
  });

  it('refuses bad logins', async () => {
    const post = (body: string, type = 'application/json') => s.json(`${AUTH}/login`, { method: 'POST', headers: { 'content-type': type }, body });
    const wrong = await post(JSON.stringify({ login: 'dave', password: 'nope-nope' }));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'INVALID_CREDENTIALS');
    assert.equal((await post(JSON.stringify({ login: 'nobody', password: 'whatever1' }))).status, 401);
    assert.equal((await post(JSON.stringify({ login: 'guest', password: '' }))).status, 401);
    assert.equal((await post(JSON.stringify({ login: 'dave' }))).body.code, 'INVALID_FIELD');
    assert.equal((await post(JSON.stringify({ password: 'x' }))).status, 400);
    assert.equal((await post('login=dave', 'application/x-www-form-urlencoded')).status, 400);
    assert.equal((await post('not json')).status, 400);
  });

  it('accepts HTTP Basic on any endpoint and rejects wrong Basic credentials', async () => {
    const me = await s.json(`${AUTH}/current_user`, { headers: basic('dave', 'dave-password') });
    assert.equal(me.body.keyname, 'dave');
    assert.equal(me.body.auth_medium, 'basic');
    assert.equal((await s.json('/api/resource/2', { headers: basic('dave', 'dave-password') })).status, 200);
    const wrong = await s.json('/api/resource/2', { headers: basic('dave', 'wrong-password') });
    assert.equal(wrong.status, 401);
    assert.ok(wrong.headers.get('www-authenticate'));
    assert.equal((await s.json('/api/resource/2', { headers: { Authorization: 'Basic !!!' } })).status, 401);
  });

  it('disabled users cannot log in, and their sessions and Basic access end', async () => {
    const id = await createUser(s, 'erin', 'erin-password');
    const login = await s.get(`${AUTH}/login`, { method: 'POST', body: JSON.stringify({ login: 'erin', password: 'erin-password' }) });
    const token = sessionCookie(login).split(';')[0];
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: basic('erin', 'erin-password') })).body.keyname, 'erin');
    assert.equal((await send(s, 'PUT', `${AUTH}/user/${id}`, { disabled: true })).status, 200);
    const again = await s.json(`${AUTH}/login`, { method: 'POST', body: JSON.stringify({ login: 'erin', password: 'erin-password' }) });
    assert.equal(again.status, 403);
    assert.equal(again.body.code, 'USER_DISABLED');
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: { cookie: token } })).body.keyname, 'guest');
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: basic('erin', 'erin-password') })).status, 403);
  });

  it('changing a password ends the old one', async () => {
    const id = await createUser(s, 'fred', 'fred-password');
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: basic('fred', 'fred-password') })).status, 200);
    assert.equal((await send(s, 'PUT', `${AUTH}/user/${id}`, { password: 'fred-new-password' })).status, 200);
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: basic('fred', 'fred-password') })).status, 401);
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: basic('fred', 'fred-new-password') })).body.keyname, 'fred');
  });

  it('a Basic check under way when the password changes answers only the requests sent before the change', async () => {
    const id = await createUser(s, 'gail', 'gail-password');
    const hold = holdNextCall(s.services.auth.store, 'userByKeyname', (keyname) => keyname === 'gail');
    try {
      const before = s.json(`${AUTH}/current_user`, { headers: basic('gail', 'gail-password') });
      await hold.reached;
      assert.equal((await send(s, 'PUT', `${AUTH}/user/${id}`, { password: 'gail-new-password' })).status, 200);
      // Sent after the change, while the old check is still under way: not answered by it.
      const during = s.json(`${AUTH}/current_user`, { headers: basic('gail', 'gail-password') });
      hold.release();
      assert.equal((await before).body.keyname, 'gail', 'the request sent before the change is answered by the old password');
      assert.equal((await during).status, 401);
      // Nor remembered by it.
      assert.equal((await s.json(`${AUTH}/current_user`, { headers: basic('gail', 'gail-password') })).status, 401);
      assert.equal((await s.json(`${AUTH}/current_user`, { headers: basic('gail', 'gail-new-password') })).body.keyname, 'gail');
    } finally {
      hold.release();
    }
  });

  it('a login whose password is changed while it is checked leaves no session behind', async () => {
    const id = await createUser(s, 'gus', 'gus-password');
    const hold = holdNextCall(s.services.auth.store, 'userByKeyname', (keyname) => keyname === 'gus');
    try {
      const login = s.get(`${AUTH}/login`, { method: 'POST', body: JSON.stringify({ login: 'gus', password: 'gus-password' }) });
      await hold.reached;
      assert.equal((await send(s, 'PUT', `${AUTH}/user/${id}`, { password: 'gus-new-password' })).status, 200);
      hold.release();
      const res = await login;
      assert.equal(res.status, 401);
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('ngw_sid='));
      if (cookie) assert.equal((await s.json(`${AUTH}/current_user`, { headers: { cookie: cookie.split(';')[0] } })).body.keyname, 'guest');
    } finally {
      hold.release();
    }
  });

  it('accepts Basic credentials refused before their user existed once it is created', async () => {
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: basic('ivan', 'ivan-password') })).status, 401);
    await createUser(s, 'ivan', 'ivan-password');
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: basic('ivan', 'ivan-password') })).body.keyname, 'ivan');
  });

  it('keeps only a salted scrypt hash in the database, never the password', async () => {
    await createUser(s, 'gina', 'gina-password');
    await createUser(s, 'hank', 'gina-password');
    const db = new Database(s.services.config.database, { readonly: true });
    try {
      const rows = db.prepare("SELECT keyname, password_hash FROM principal WHERE keyname IN ('gina', 'hank')").all() as { password_hash: string }[];
      assert.equal(rows.length, 2);
      for (const r of rows) {
        assert.match(r.password_hash, /^scrypt\$\d+\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
        assert.ok(!r.password_hash.includes('gina-password'));
      }
      assert.notEqual(rows[0].password_hash, rows[1].password_hash, 'per-user salt');
    } finally {
      db.close();
    }
    for (const file of [s.services.config.database, `${s.services.config.database}-wal`]) {
      let bytes: Buffer;
      try { bytes = readFileSync(file); } catch { continue; }
      assert.ok(!bytes.includes('gina-password'), `${file} holds no clear password`);
    }
  });

  it('answers 403 to registration when it is not enabled', async () => {
    const r = await send(s, 'POST', `${AUTH}/register`, { keyname: 'newbie', password: 'newbie-password' }, {});
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'REGISTRATION_DISABLED');
  });
});

describe('registration when enabled', () => {
  let s: TestServer;
  before(async () => { s = await authServer({ env: { MERIDIAN_REGISTRATION: 'true', MERIDIAN_REGISTRATION_GROUP: 'members' } }); });
  after(() => s.stop());

  it('creates the user in the configured group, who can then log in', async () => {
    // A client that asked before registering is not refused afterwards for having been refused then.
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: basic('newbie', 'newbie-password') })).status, 401);
    const r = await send(s, 'POST', `${AUTH}/register`, { keyname: 'newbie', display_name: 'New Bie', password: 'newbie-password' }, {});
    assert.equal(r.status, 200);
    assert.equal(r.body.keyname, 'newbie');
    const user = (await s.json(`${AUTH}/user/${r.body.id}`, { headers: ADMIN })).body;
    const group = (await s.json(`${AUTH}/group/`, { headers: ADMIN })).body.find((g: any) => g.keyname === 'members');
    assert.deepEqual(user.member_of, [group.id]);
    const groups = (await s.json(`${AUTH}/group/`, { headers: ADMIN })).body;
    assert.deepEqual(groups.filter((g: any) => g.register).map((g: any) => g.keyname), ['members'], 'the registration group alone is flagged register');
    assert.equal((await s.json(`${AUTH}/group/${group.id}`, { headers: ADMIN })).body.register, true);
    assert.equal((await s.json(`${AUTH}/current_user`, { headers: basic('newbie', 'newbie-password') })).body.keyname, 'newbie');
  });

  it('rejects bad registrations', async () => {
    assert.equal((await send(s, 'POST', `${AUTH}/register`, { keyname: 'newbie', password: 'newbie-password' }, {})).status, 409);
    assert.equal((await send(s, 'POST', `${AUTH}/register`, { keyname: 'x2', password: 'short' }, {})).status, 400);
    assert.equal((await send(s, 'POST', `${AUTH}/register`, { keyname: 'x3', password: 'long-enough', member_of: [2] }, {})).status, 400);
  });
});

describe('failed-login slowdown', () => {
  let s: TestServer;
  before(async () => { s = await authServer(); });
  after(() => s.stop());

  it('refuses further attempts from an address after repeated failures, with Retry-After', async () => {
    const attempt = (password: string) => s.json(`${AUTH}/login`, { method: 'POST', body: JSON.stringify({ login: 'administrator', password }) });
    for (let i = 0; i < 5; i++) assert.equal((await attempt(`wrong-${i}`)).status, 401);
    const blocked = await attempt('admin-secret-1');
    assert.equal(blocked.status, 429);
    assert.equal(blocked.body.code, 'TOO_MANY_ATTEMPTS');
    assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
    const basicBlocked = await s.json(`${AUTH}/current_user`, { headers: ADMIN });
    assert.equal(basicBlocked.status, 429, 'Basic credentials are throttled the same way');
  });
});

describe('failed-login slowdown under simultaneous attempts', () => {
  let s: TestServer;
  before(async () => { s = await authServer(); });
  after(() => s.stop());

  it('counts attempts under way: a burst of guesses gets the free tries only, not one each', async () => {
    const guesses = await Promise.all(Array.from({ length: 30 }, (_, i) => s.json(`${AUTH}/login`,
      { method: 'POST', body: JSON.stringify({ login: 'administrator', password: `wrong-${i}` }) })));
    const statuses = guesses.map((g) => g.status).sort();
    assert.deepEqual(statuses, [...Array(5).fill(401), ...Array(25).fill(429)]);
    const basicGuesses = await Promise.all(Array.from({ length: 10 }, (_, i) => s.get(`${AUTH}/current_user`, { headers: basic('administrator', `wrong-${i}`) })));
    assert.deepEqual(basicGuesses.map((g) => g.status), Array(10).fill(429));
  });

  it('checks a burst of requests with the same Basic credentials once: a map client is not throttled', async () => {
    const other = await authServer();
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => other.get('/api/resource/2/feature_count', { headers: ADMIN })));
      assert.deepEqual(answers.map((a) => a.status), Array(20).fill(200));
      const wrong = basic('administrator', 'wrong-password');
      const refused = await Promise.all(Array.from({ length: 20 }, () => other.get('/api/resource/2/feature_count', { headers: wrong })));
      assert.deepEqual(refused.map((a) => a.status), Array(20).fill(401), 'one failure, shared');
      // The same wrong header later is the same guess, not a new one: answered from memory, not charged.
      for (let i = 0; i < 10; i++) assert.equal((await other.get('/api/resource/2/feature_count', { headers: wrong })).status, 401);
      assert.equal((await other.get('/api/resource/2/feature_count', { headers: basic('administrator', 'wrong-again') })).status, 401, 'the address was charged one failure');
    } finally { await other.stop(); }
  });
});
