// Starts a real Meridian server on a free port for a test, over a data folder the test chooses.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { readConfig } from '../../src/config.js';
import { start, type Running } from '../../src/server.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const SAMPLE_DATA = join(ROOT, 'data');
export const SAMPLE_STYLES = join(ROOT, 'styles');
/** Small real files in every source format, with a catalog.json (see test/fixtures/README.md). */
export const FIXTURES = join(ROOT, 'test/fixtures');
/** Files written by QGIS itself: projects, their data, styles and reference renders (see test/qgis-fixtures/README.md). */
export const QGIS_FIXTURES = join(ROOT, 'test/qgis-fixtures');

export interface TestServer extends Running {
  get(path: string, init?: RequestInit): Promise<Response>;
  json(path: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

/**
 * A temporary copy of the sample data (or an empty folder), with an optional catalog written in. A
 * server's stop removes it, unless `kept` (for servers started over it again; the test removes it).
 */
export function tempData(opts: { copySample?: boolean; catalog?: unknown; kept?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), opts.kept ? 'meridian-kept-' : 'meridian-test-'));
  // Not the sample folder's own database (left there by servers run over it): each copy starts afresh.
  if (opts.copySample) cpSync(SAMPLE_DATA, dir, { recursive: true, filter: (src) => !basename(src).startsWith('meridian.db') });
  if (opts.catalog) writeFileSync(join(dir, 'catalog.json'), JSON.stringify(opts.catalog));
  return dir;
}

/** A temporary copy of test/fixtures, so that what a server writes (its database) stays out of the repository. */
export function fixtureData(): string {
  const dir = tempData();
  cpSync(FIXTURES, dir, { recursive: true, filter: (src) => !basename(src).startsWith('meridian.db') });
  return dir;
}

/** `log` replaces the silent default logger (a test that reads what the server logs passes its own). */
export async function startServer(opts: { dataDir?: string; stylesDir?: string; env?: Record<string, string>; log?: Logger } = {}): Promise<TestServer> {
  const temporary = opts.dataDir?.includes('meridian-test-');
  // A server over a folder of the repository keeps its auth database and tile store in a temporary folder instead.
  const dbDir = temporary ? undefined : mkdtempSync(join(tmpdir(), 'meridian-db-'));
  const database = dbDir ? { MERIDIAN_DATABASE: join(dbDir, 'meridian.db'), MERIDIAN_TILE_STORE: join(dbDir, 'tiles') } : {};
  const config = readConfig(['--port', '0', '--host', '127.0.0.1',
    '--data', opts.dataDir ?? SAMPLE_DATA, '--styles', opts.stylesDir ?? SAMPLE_STYLES],
    // The management port is off unless a test asks for it ("0" = any free port), so parallel runs never collide.
    { MERIDIAN_MANAGEMENT_PORT: 'off', ...database, ...opts.env });
  const running = await start(config, opts.log ?? pino({ level: process.env.TEST_LOG ?? 'silent' }));
  // A test may hold the event loop for seconds between two requests (an oracle worked out in its
  // process): past the server's 5 s, the kept-alive connection fetch then reuses was being closed
  // under it ("fetch failed"). Tests outwait that; the server's own setting is Node's.
  running.server.keepAliveTimeout = 120_000;
  await running.layersLoaded;
  const get = (path: string, init?: RequestInit) => fetch(running.url + path, init);
  return {
    ...running,
    get,
    async json(path, init) {
      const res = await get(path, init);
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
    },
    async stop() {
      await running.close();
      if (temporary) rmSync(opts.dataDir!, { recursive: true, force: true });
      if (dbDir) rmSync(dbDir, { recursive: true, force: true });
    },
  };
}
