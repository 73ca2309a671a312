// Auth helpers for tests: a server with a known administrator password, Basic headers, and users.
import { startServer, tempData, type TestServer } from './server.js';

export const ADMIN_PASSWORD = 'admin-secret-1';

/** Low scrypt cost: tests hash many passwords; the format and code path are the same. */
export const AUTH_ENV = { MERIDIAN_ADMIN_PASSWORD: ADMIN_PASSWORD, MERIDIAN_PASSWORD_COST: '10' };

export function basic(keyname: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${keyname}:${password}`).toString('base64')}` };
}

export const ADMIN = basic('administrator', ADMIN_PASSWORD);

/** A server over a fresh copy of the sample data (its own database), optionally with a catalog. */
export function authServer(opts: { catalog?: unknown; env?: Record<string, string> } = {}): Promise<TestServer> {
  return startServer({ dataDir: tempData({ copySample: true, catalog: opts.catalog }), env: { ...AUTH_ENV, ...opts.env } });
}

export function send(s: TestServer, method: string, path: string, body: unknown, headers: Record<string, string> = ADMIN) {
  return s.json(path, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Creates a user as administrator; returns its id. */
export async function createUser(s: TestServer, keyname: string, password: string, member_of: number[] = []): Promise<number> {
  const r = await send(s, 'POST', '/api/component/auth/user/', { keyname, password, member_of });
  if (r.status !== 200) throw new Error(`creating ${keyname}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

export async function createGroup(s: TestServer, keyname: string, members: number[]): Promise<number> {
  const r = await send(s, 'POST', '/api/component/auth/group/', { keyname, members });
  if (r.status !== 200) throw new Error(`creating group ${keyname}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}
