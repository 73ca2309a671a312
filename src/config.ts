// Settings, from (lowest to highest precedence) defaults, a JSON file, the environment, the command line.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * The most a seeding job may ever cover (max_job_tiles can go up to it): a job's tasks are made and
 * stored in one go when it is submitted, some 0.1 s per million tiles; beyond, split a job by zoom or bbox.
 */
export const MAX_JOB_TILES = 10_000_000;

export interface Config {
  port: number;
  host: string;
  /** Holds catalog.json and the layer sources. */
  dataDir: string;
  /** Holds QML styles. */
  stylesDir: string;
  /** Seconds between checks that a file layer's source changed (then it is reloaded); 0 = never. */
  sourceCheckInterval: number;
  /** Cache-Control sent with tiles and rendered images. */
  tileCacheControl: string;
  /** Byte budget of the tile cache (MERIDIAN_TILE_CACHE_MB). */
  tileCacheBytes: number;
  /** Folder of the persistent tile store (see tiles/store.ts); default <dataDir>/tiles. */
  tileStore: string;
  /** Size bound of the tile store, bytes. */
  tileStoreBytes: number;
  /** Pool workers that run seeding tasks at once; default half the pool, at least 1 (MERIDIAN_SEED_CONCURRENCY). */
  seedConcurrency: number;
  /** Most tiles one seeding job may cover (MERIDIAN_MAX_JOB_TILES). */
  maxJobTiles: number;
  /** Seconds without a heartbeat after which another manager's running tasks are queued again (MERIDIAN_MANAGER_TIMEOUT_S). */
  managerTimeout: number;
  /** Worker threads for CPU-heavy work; default: one per core (MERIDIAN_WORKERS). */
  workers: number;
  /** A worker task running longer is abandoned and its worker replaced (MERIDIAN_TASK_TIMEOUT_MS). */
  taskTimeoutMs: number;
  /** Workers' memory past which the largest is recycled; 0 = never (MERIDIAN_POOL_MEMORY_MB). */
  poolMemoryHighWaterMark: number;
  logLevel: string;
  /** QGIS projects root (see src/qgis/). */
  projectsDir: string;
  /** Most QGIS projects cached per thread, preloaded ones not counted. */
  projectCacheSize: number;
  /** Seconds between checks that a cached project's file changed; 0 = on every request. */
  projectCheckInterval: number;
  /** Project URIs loaded at start and never evicted by LRU. */
  preloadProjects: string[];
  /** Server plugins folder (see src/plugins/). */
  pluginsDir: string;
  /** Management API port on managementHost; 0 = any free port, null = no management port. */
  managementPort: number | null;
  managementHost: string;
  /** Monitoring: counting middleware, the API under monitorPath and /metrics (see src/monitor/). */
  monitor: boolean;
  monitorPath: string;
  /** Anyone may read the monitoring API and /metrics (else administrators only). */
  monitorPublic: boolean;
  /** DELETE/POST/PATCH on the monitoring API (nginx's `api write=on`). */
  monitorWrite: boolean;
  /** SQLite file holding users, groups, sessions and run-time ACLs; default <dataDir>/meridian.db. */
  database: string;
  /** Whether POST /api/component/auth/register is open. */
  registration: boolean;
  /** Keyname of the group self-registered users join (created at start if missing); null: none. */
  registrationGroup: string | null;
  /** From MERIDIAN_ADMIN_PASSWORD only (never the config file): the built-in administrator's password. */
  adminPassword?: string;
  /** scrypt cost as log2 N (memory use is 2^N KiB); 16 = 64 MiB per hash. */
  passwordCost: number;
  /** Session lifetime in seconds. */
  sessionTtl: number;
  /** PostgreSQL named connections for postgis_layer resources; "default" is MERIDIAN_DATABASE_URL. */
  connections: Record<string, string>;
  /** Most connections per PostgreSQL pool (MERIDIAN_DATABASE_POOL_SIZE). */
  databasePoolSize: number;
  /** Waiting longer for a PostgreSQL connection answers 503 (MERIDIAN_DATABASE_TIMEOUT_MS). */
  databaseTimeoutMs: number;
  /** Longest one statement of a PostGIS layer's or QGIS project's pool may run; 0 = no bound of Meridian's (MERIDIAN_DATABASE_STATEMENT_TIMEOUT_MS). */
  databaseStatementTimeoutMs: number;
  /** A streamed answer whose reader takes nothing for this long is ended; 0 = never (MERIDIAN_STREAM_STALL_TIMEOUT_MS). */
  streamStallTimeoutMs: number;
  /** redis:// URL of the tile cache all instances share (MERIDIAN_REDIS_URL); null = none. */
  redisUrl: string | null;
  /** Starts every Redis key and channel of this deployment (MERIDIAN_REDIS_PREFIX). */
  redisPrefix: string;
  /** Seconds a tile lives in the shared cache (MERIDIAN_REDIS_TTL). */
  redisTtl: number;
  /** Behind a reverse proxy: client address and scheme from X-Forwarded-For/-Proto (MERIDIAN_TRUST_PROXY). */
  trustProxy: boolean;
  /** Processes to run on this machine, sharing the port (--cluster / MERIDIAN_CLUSTER); 1 = no cluster. */
  cluster: number;
}

export class ConfigError extends Error {}

/** Without seedConcurrency, whose default (half the pool) is known once `workers` is; a 0 set is kept. */
const DEFAULTS: Omit<Config, 'seedConcurrency'> = {
  port: 8080,
  host: '0.0.0.0',
  dataDir: 'data',
  stylesDir: 'styles',
  sourceCheckInterval: 2,
  tileCacheControl: 'public, max-age=3600',
  tileCacheBytes: 256 * 1024 * 1024,
  tileStore: '',
  tileStoreBytes: 1024 * 1024 * 1024,
  workers: availableParallelism(),
  maxJobTiles: 1_000_000,
  managerTimeout: 60,
  taskTimeoutMs: 20_000,
  poolMemoryHighWaterMark: 2048 * 1024 * 1024,
  logLevel: 'info',
  projectsDir: 'data/projects',
  projectCacheSize: 10,
  projectCheckInterval: 10,
  preloadProjects: [],
  pluginsDir: 'plugins',
  managementPort: 19876,
  managementHost: '127.0.0.1',
  monitor: true,
  monitorPath: '/monitor',
  monitorPublic: false,
  monitorWrite: false,
  database: '',
  registration: false,
  registrationGroup: null,
  passwordCost: 16,
  sessionTtl: 7 * 24 * 3600,
  connections: {},
  databasePoolSize: 10,
  databaseTimeoutMs: 5000,
  databaseStatementTimeoutMs: 30_000,
  streamStallTimeoutMs: 60_000,
  redisUrl: null,
  redisPrefix: 'meridian:',
  redisTtl: 24 * 3600,
  trustProxy: false,
  cluster: 1,
};

/** A setting's number; a blank one is none (NaN), not the 0 that Number('') gives, so `VAR=` is refused rather than read as 0. */
const numberOf = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? NaN : Number(value));

function count(value: unknown, name: string): number {
  const n = numberOf(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name} must be a whole number >= 0, got "${value}"`);
  return n;
}

function positive(value: unknown, name: string): number {
  const n = numberOf(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${name} must be a positive number, got "${value}"`);
  return n;
}

/** Seconds between polls: 0 (never), or from 0.01 to a day (Node's timers take at most 24.8 days). */
function checkInterval(value: unknown, name: string): number {
  const n = numberOf(value);
  if (!(n === 0 || (n >= 0.01 && n <= 86_400))) throw new ConfigError(`${name} must be 0 (never) or from 0.01 to 86400 seconds, got "${value}"`);
  return n;
}

function port(value: unknown, name: string): number {
  const n = numberOf(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be a port number, got "${value}"`);
  return n;
}

function flag(value: unknown, name: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new ConfigError(`${name} must be 1 or 0, got "${value}"`);
}

/** The longest a timer waits (Node's setTimeout; PostgreSQL's statement_timeout too): 2^31 − 1 ms, 24.8 days. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function integer(value: unknown, name: string, min: number, max: number): number {
  const n = numberOf(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

export function readConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Config {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' }, host: { type: 'string' }, data: { type: 'string' },
        styles: { type: 'string' }, config: { type: 'string' }, cluster: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const file = args.config ?? env.MERIDIAN_CONFIG;
  let fromFile: Partial<Config> = {};
  if (file) {
    try { fromFile = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new ConfigError(`config file ${file}: ${(e as Error).message}`); }
  }
  const c: Omit<Config, 'seedConcurrency'> & Partial<Config> = { ...DEFAULTS, ...fromFile };
  const pick = (arg: string | undefined, envName: string) => arg ?? env[envName];
  const p = pick(args.port, 'PORT');
  if (p !== undefined) c.port = port(p, args.port ? '--port' : 'PORT');
  else c.port = port(c.port, 'port');
  c.host = pick(args.host, 'HOST') ?? c.host;
  c.dataDir = resolve(pick(args.data, 'MERIDIAN_DATA') ?? c.dataDir);
  c.stylesDir = resolve(pick(args.styles, 'MERIDIAN_STYLES') ?? c.stylesDir);
  c.sourceCheckInterval = checkInterval(env.MERIDIAN_SOURCE_CHECK_INTERVAL ?? c.sourceCheckInterval, 'MERIDIAN_SOURCE_CHECK_INTERVAL');
  c.tileCacheControl = env.MERIDIAN_TILE_CACHE_CONTROL ?? c.tileCacheControl;
  if (env.MERIDIAN_TILE_CACHE_MB !== undefined) c.tileCacheBytes = positive(env.MERIDIAN_TILE_CACHE_MB, 'MERIDIAN_TILE_CACHE_MB') * 1024 * 1024;
  if (env.MERIDIAN_WORKERS !== undefined) c.workers = Math.ceil(positive(env.MERIDIAN_WORKERS, 'MERIDIAN_WORKERS'));
  const seedConcurrency = integer(env.MERIDIAN_SEED_CONCURRENCY ?? c.seedConcurrency ?? Math.max(1, Math.floor(c.workers / 2)), 'MERIDIAN_SEED_CONCURRENCY', 0, c.workers);
  c.maxJobTiles = integer(env.MERIDIAN_MAX_JOB_TILES ?? c.maxJobTiles, 'MERIDIAN_MAX_JOB_TILES', 1, MAX_JOB_TILES);
  c.managerTimeout = integer(env.MERIDIAN_MANAGER_TIMEOUT_S ?? c.managerTimeout, 'MERIDIAN_MANAGER_TIMEOUT_S', 1, 24 * 3600);
  if (env.MERIDIAN_TASK_TIMEOUT_MS !== undefined) c.taskTimeoutMs = positive(env.MERIDIAN_TASK_TIMEOUT_MS, 'MERIDIAN_TASK_TIMEOUT_MS');
  if (env.MERIDIAN_POOL_MEMORY_MB !== undefined) c.poolMemoryHighWaterMark = count(env.MERIDIAN_POOL_MEMORY_MB, 'MERIDIAN_POOL_MEMORY_MB') * 1024 * 1024;
  c.logLevel = env.LOG_LEVEL ?? c.logLevel;
  c.projectsDir = resolve(env.MERIDIAN_PROJECTS ?? c.projectsDir);
  c.projectCacheSize = count(env.MERIDIAN_PROJECT_CACHE_SIZE ?? c.projectCacheSize, 'MERIDIAN_PROJECT_CACHE_SIZE');
  c.projectCheckInterval = count(env.MERIDIAN_PROJECT_CHECK_INTERVAL ?? c.projectCheckInterval, 'MERIDIAN_PROJECT_CHECK_INTERVAL');
  if (env.MERIDIAN_PROJECT_PRELOAD !== undefined) c.preloadProjects = env.MERIDIAN_PROJECT_PRELOAD.split(',').map((u) => u.trim()).filter(Boolean);
  if (!Array.isArray(c.preloadProjects)) throw new ConfigError('preloadProjects must be a list of project URIs');
  c.pluginsDir = resolve(env.MERIDIAN_PLUGINS ?? c.pluginsDir);
  const mgmt = env.MERIDIAN_MANAGEMENT_PORT ?? c.managementPort;
  c.managementPort = mgmt === 'off' || mgmt === null ? null : port(mgmt, 'MERIDIAN_MANAGEMENT_PORT');
  c.managementHost = env.MERIDIAN_MANAGEMENT_HOST ?? c.managementHost;
  c.monitor = flag(env.MERIDIAN_MONITOR ?? c.monitor, 'MERIDIAN_MONITOR');
  c.monitorPublic = flag(env.MERIDIAN_MONITOR_PUBLIC ?? c.monitorPublic, 'MERIDIAN_MONITOR_PUBLIC');
  c.monitorWrite = flag(env.MERIDIAN_MONITOR_WRITE ?? c.monitorWrite, 'MERIDIAN_MONITOR_WRITE');
  c.monitorPath = env.MERIDIAN_MONITOR_PATH ?? c.monitorPath;
  if (!/^(\/[\w.-]+)+$/.test(c.monitorPath)) throw new ConfigError(`monitorPath must look like /monitor, got "${c.monitorPath}"`);
  c.tileStore = resolve(c.dataDir, env.MERIDIAN_TILE_STORE ?? (c.tileStore || 'tiles'));
  if (env.MERIDIAN_TILE_STORE_MB !== undefined) c.tileStoreBytes = positive(env.MERIDIAN_TILE_STORE_MB, 'MERIDIAN_TILE_STORE_MB') * 1024 * 1024;
  c.database = resolve(c.dataDir, env.MERIDIAN_DATABASE ?? (c.database || 'meridian.db'));
  if (env.MERIDIAN_REGISTRATION !== undefined) c.registration = ['1', 'true', 'yes', 'on'].includes(env.MERIDIAN_REGISTRATION.toLowerCase());
  if (typeof c.registration !== 'boolean') throw new ConfigError('registration must be true or false');
  c.registrationGroup = env.MERIDIAN_REGISTRATION_GROUP ?? c.registrationGroup;
  c.adminPassword = env.MERIDIAN_ADMIN_PASSWORD;
  c.passwordCost = integer(env.MERIDIAN_PASSWORD_COST ?? c.passwordCost, 'passwordCost', 10, 20);
  c.sessionTtl = integer(env.MERIDIAN_SESSION_TTL ?? c.sessionTtl, 'sessionTtl', 60, 365 * 24 * 3600);
  c.connections = { ...c.connections };
  if (env.MERIDIAN_DATABASE_URL) c.connections.default = env.MERIDIAN_DATABASE_URL;
  for (const [name, url] of Object.entries(c.connections)) {
    if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url)) throw new ConfigError(`connection "${name}" must be a postgres:// URL`);
  }
  c.databasePoolSize = integer(env.MERIDIAN_DATABASE_POOL_SIZE ?? c.databasePoolSize, 'databasePoolSize', 1, 1000);
  c.databaseTimeoutMs = positive(env.MERIDIAN_DATABASE_TIMEOUT_MS ?? c.databaseTimeoutMs, 'databaseTimeoutMs');
  c.databaseStatementTimeoutMs = integer(env.MERIDIAN_DATABASE_STATEMENT_TIMEOUT_MS ?? c.databaseStatementTimeoutMs, 'databaseStatementTimeoutMs', 0, MAX_TIMEOUT_MS);
  c.streamStallTimeoutMs = integer(env.MERIDIAN_STREAM_STALL_TIMEOUT_MS ?? c.streamStallTimeoutMs, 'streamStallTimeoutMs', 0, MAX_TIMEOUT_MS);
  c.redisUrl = env.MERIDIAN_REDIS_URL || c.redisUrl || null;
  if (c.redisUrl !== null && !/^rediss?:\/\//.test(c.redisUrl)) throw new ConfigError('redisUrl must be a redis:// URL');
  c.redisPrefix = env.MERIDIAN_REDIS_PREFIX ?? c.redisPrefix;
  c.redisTtl = integer(env.MERIDIAN_REDIS_TTL ?? c.redisTtl, 'redisTtl', 1, 365 * 24 * 3600);
  c.trustProxy = flag(env.MERIDIAN_TRUST_PROXY ?? c.trustProxy, 'MERIDIAN_TRUST_PROXY');
  c.cluster = integer(pick(args.cluster, 'MERIDIAN_CLUSTER') ?? c.cluster, 'cluster', 1, 256);
  return { ...c, seedConcurrency };
}
