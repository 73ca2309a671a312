// PostgreSQL in tests: the server scripts/pg-test-server.sh starts (MERIDIAN_TEST_PG_URL), a schema
// per test file for Meridian's shared state, and a relay the test can cut to stand for a database
// that goes away (see relay.ts; the cluster itself is shared with other test runs, so it is never stopped).
export const PG_URL = process.env.MERIDIAN_TEST_PG_URL;
export const PG_SKIP = PG_URL ? false : 'MERIDIAN_TEST_PG_URL is not set: run scripts/pg-test-server.sh to test against PostgreSQL';

/** `url` whose connections create and find unqualified tables in `schema` first (PostGIS stays reachable in public). */
export function inSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema},public`);
  return u.href;
}

/** `url` with its port replaced (to go through a Relay). */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.href;
}
