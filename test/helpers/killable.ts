// Throwaway PostgreSQL and Redis servers of one test's own, from the Debian packages' binaries, that
// the test kills with SIGKILL and starts again on the same port and data: what the instances see
// is a real server dying, not a simulated one, and no server another test uses is touched.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PG_LIB = '/usr/lib/postgresql';
const REDIS = '/usr/bin/redis-server';

/** The newest installed PostgreSQL's bin folder, if any. */
function pgBin(): string | undefined {
  const versions = existsSync(PG_LIB) ? readdirSync(PG_LIB).filter((v) => existsSync(join(PG_LIB, v, 'bin', 'initdb'))) : [];
  return versions.length ? join(PG_LIB, versions.sort((a, b) => Number(a) - Number(b)).at(-1)!, 'bin') : undefined;
}

/** PostgreSQL refuses to run as root: as root the server runs as the package's `postgres` user. */
const asRoot = process.getuid?.() === 0;
const pgUser = () => spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });

/** Why the killable servers cannot run here, or false. */
export const KILLABLE_SKIP = !pgBin() ? 'PostgreSQL binaries not found (Debian package postgresql; .ci/run installs it)'
  : !existsSync(REDIS) ? 'redis-server not found (Debian package redis-server; .ci/run installs it)'
    : asRoot && pgUser().status !== 0 ? 'running as root without a postgres user to run PostgreSQL as' : false;

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** A command line run as the postgres user when we are root (setpriv execs, so the pid is the server's). */
const asPostgres = (argv: string[]) => (asRoot ? ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', ...argv] : argv);

/** Waits until `ready` answers true, or throws after `ms`. */
async function until(ready: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > end) throw new Error(`${what} did not come up within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

abstract class KillableServer {
  protected proc: ChildProcess | null = null;
  protected constructor(readonly port: number, protected readonly dir: string) {}

  protected abstract command(): string[];
  protected abstract answers(): boolean;

  /** Starts the server (again, after a kill: same port, same files). */
  async start(): Promise<void> {
    // A killed server's port and (PostgreSQL) shared memory are released a moment after it dies.
    await until(async () => {
      const [bin, ...args] = this.command();
      const proc = spawn(bin, args, { stdio: 'ignore' });
      const exited = new Promise<boolean>((resolve) => proc.once('exit', () => resolve(false)));
      const up = (async () => { await until(() => this.answers() || proc.exitCode !== null, 'server'); return proc.exitCode === null; })();
      if (await Promise.race([up, exited])) {
        // Not left running if the test process ends first.
        const reap = () => proc.kill('SIGKILL');
        process.once('exit', reap);
        proc.once('exit', () => process.off('exit', reap));
        this.proc = proc;
        return true;
      }
      return false;
    }, this.constructor.name);
  }

  /** SIGKILL: no shutdown, the server is gone at once for everyone connected. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
    this.proc = null;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class KillableRedis extends KillableServer {
  static async create(): Promise<KillableRedis> {
    const server = new KillableRedis(await freePort(), mkdtempSync(join(tmpdir(), 'meridian-killable-redis-')));
    await server.start();
    return server;
  }

  get url() { return `redis://127.0.0.1:${this.port}`; }

  protected command() {
    // Bounded like a tile cache, nothing persisted (a restart is empty).
    return [REDIS, '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no',
      '--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'];
  }

  protected answers() {
    return spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG';
  }
}

export class KillablePostgres extends KillableServer {
  /** A new cluster (trust authentication on loopback, user `meridian`, database `meridian`), started. */
  static async create(): Promise<KillablePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-killable-pg-'));
    if (asRoot) chownSync(dir, Number(pgUser().stdout.trim()), -1);
    const data = join(dir, 'data');
    const [bin, ...args] = asPostgres([join(pgBin()!, 'initdb'), '-D', data, '-A', 'trust', '-U', 'meridian', '-E', 'UTF8', '--no-sync']);
    const init = spawnSync(bin, args, { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    const server = new KillablePostgres(await freePort(), dir);
    await server.start();
    const [psql, ...create] = asPostgres([join(pgBin()!, 'createdb'), '-h', '127.0.0.1', '-p', String(server.port), '-U', 'meridian', 'meridian']);
    const created = spawnSync(psql, create, { encoding: 'utf8' });
    if (created.status !== 0) throw new Error(`createdb failed: ${created.stderr}`);
    return server;
  }

  get url() { return `postgres://meridian@127.0.0.1:${this.port}/meridian`; }

  protected command() {
    return asPostgres([join(pgBin()!, 'postgres'), '-D', join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']);
  }

  protected answers() {
    return spawnSync(join(pgBin()!, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(this.port)]).status === 0;
  }
}
