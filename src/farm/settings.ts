// The farm's run-time settings (GET/POST /farm/api/v3/settings). Start values come from the
// configuration; a POSTed one is stored in the job store and wins over it (null gives the setting
// back to the configuration), applies at once and outlasts a restart. Instances sharing PostgreSQL
// hear of each other's changes (JobStore.watchSettings) and apply them too.
import { MAX_JOB_TILES, type Config } from '../config.js';
import { badField } from '../http/body.js';
import type { FarmServices } from './farm.js';
import type { JobStore, Watch } from './job-store.js';

export interface FarmSettings {
  /** Size bound of the tile store, bytes. */
  tile_store_max_bytes: number;
  /** Pool workers that run seeding tasks at once (0 stops seeding). */
  seed_concurrency: number;
  /** Most tiles one job may cover. */
  max_job_tiles: number;
}

type Rule = { min: number; max: number };

/** The settings as configured (MERIDIAN_*): those of a setting never POSTed. */
function configured(config: Config): FarmSettings {
  return { tile_store_max_bytes: config.tileStoreBytes, seed_concurrency: config.seedConcurrency, max_job_tiles: config.maxJobTiles };
}

/** The configured settings, with the POSTed ones (stored) over them. */
export async function storedSettings(config: Config, jobs: JobStore): Promise<FarmSettings> {
  const values = configured(config);
  const stored = await jobs.settings();
  for (const name of Object.keys(values) as (keyof FarmSettings)[]) if (Object.hasOwn(stored, name)) values[name] = stored[name];
  return values;
}

export class Settings {
  private values: FarmSettings;
  /** Changes apply one at a time, in order: a re-read that finishes late never undoes a newer change. */
  private applying: Promise<void> = Promise.resolve();
  private watch: Watch | null = null;

  /** Starts from the configuration and the tile store's bound (opened with the stored one); `follow` applies the rest. */
  constructor(private readonly services: Pick<FarmServices, 'config' | 'tileStore' | 'pool' | 'log'>, private readonly jobs: JobStore,
    private readonly onChange: (s: FarmSettings) => void) {
    this.values = { ...configured(services.config), tile_store_max_bytes: services.tileStore.maxBytes };
  }

  /** Applies the stored settings, and from now on those another instance stores. */
  async follow(): Promise<void> {
    this.watch = await this.jobs.watchSettings(() => {
      this.reload().catch((err) => this.services.log.warn({ err: (err as Error).message }, 'could not read the farm settings after a change'));
    });
    // Read once listening, so that a change made just before is not missed.
    await this.reload();
  }

  async close(): Promise<void> {
    await this.watch?.close();
  }

  get(): FarmSettings {
    return { ...this.values };
  }

  private rules(): Record<keyof FarmSettings, Rule> {
    return {
      tile_store_max_bytes: { min: 1, max: Number.MAX_SAFE_INTEGER },
      seed_concurrency: { min: 0, max: this.services.pool.size },
      max_job_tiles: { min: 1, max: MAX_JOB_TILES },
    };
  }

  /** Checks every field before changing any (400 naming the first bad one), stores them, then applies them. */
  async update(body: Record<string, unknown>): Promise<void> {
    const rules = this.rules();
    const changes: Partial<Record<keyof FarmSettings, number | null>> = {};
    for (const [name, value] of Object.entries(body)) {
      // Own names only: "constructor" or "toString" are in every object.
      if (!Object.hasOwn(rules, name)) throw badField(name, `is not a setting (settings: ${Object.keys(rules).join(', ')})`);
      const { min, max } = rules[name as keyof FarmSettings];
      if (value !== null && (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)) {
        throw badField(name, `must be an integer from ${min} to ${max}, or null for the configured value`);
      }
      changes[name as keyof FarmSettings] = value;
    }
    if (Object.keys(changes).length === 0) return;
    await this.serially(async () => {
      // Stored first: when that fails, nothing has changed here either.
      await this.jobs.saveSettings(changes);
      const next = this.get();
      const start = configured(this.services.config);
      for (const [name, value] of Object.entries(changes) as [keyof FarmSettings, number | null][]) next[name] = value ?? start[name];
      await this.apply(next);
    });
  }

  /** Reads the stored settings again and applies what differs. */
  private reload(): Promise<void> {
    return this.serially(async () => {
      const stored = await storedSettings(this.services.config, this.jobs);
      // Set on an instance with a larger pool: this one seeds with the whole of its own.
      await this.apply({ ...stored, seed_concurrency: Math.min(stored.seed_concurrency, this.services.pool.size) });
    });
  }

  private async apply(next: FarmSettings): Promise<void> {
    const before = this.values;
    this.values = next;
    if (next.tile_store_max_bytes !== before.tile_store_max_bytes) await this.services.tileStore.setMaxBytes(next.tile_store_max_bytes);
    if ((Object.keys(next) as (keyof FarmSettings)[]).some((name) => next[name] !== before[name])) this.onChange(this.get());
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const done = this.applying.then(work);
    this.applying = done.catch(() => {});
    return done;
  }
}
