// The farm's run-time settings (GET/POST /farm/api/v3/settings): start values come from the
// configuration; changes apply at once and last until the process stops.
import { MAX_JOB_TILES, type Config } from '../config.js';
import { badField } from '../http/body.js';
import type { TileStore } from '../tiles/store.js';

export interface FarmSettings {
  /** Size bound of the tile store, bytes. */
  tile_store_max_bytes: number;
  /** Pool workers that run seeding tasks at once (0 stops seeding). */
  seed_concurrency: number;
  /** Most tiles one job may cover. */
  max_job_tiles: number;
}

type Rule = { min: number; max: number };

export class Settings {
  private values: FarmSettings;

  constructor(config: Config, private readonly store: TileStore, private readonly poolSize: number,
    private readonly onChange: (s: FarmSettings) => void) {
    this.values = { tile_store_max_bytes: store.maxBytes, seed_concurrency: config.seedConcurrency, max_job_tiles: config.maxJobTiles };
  }

  get(): FarmSettings {
    return { ...this.values };
  }

  private rules(): Record<keyof FarmSettings, Rule> {
    return {
      tile_store_max_bytes: { min: 1, max: Number.MAX_SAFE_INTEGER },
      seed_concurrency: { min: 0, max: this.poolSize },
      max_job_tiles: { min: 1, max: MAX_JOB_TILES },
    };
  }

  /** Checks every field before changing any: 400 naming the first bad one. */
  async update(body: Record<string, unknown>): Promise<void> {
    const rules = this.rules();
    const next = { ...this.values };
    for (const [name, value] of Object.entries(body)) {
      // Own names only: "constructor" or "toString" are in every object.
      if (!Object.hasOwn(rules, name)) throw badField(name, `is not a setting (settings: ${Object.keys(rules).join(', ')})`);
      const { min, max } = rules[name as keyof FarmSettings];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw badField(name, `must be an integer from ${min} to ${max}`);
      next[name as keyof FarmSettings] = value;
    }
    if (next.tile_store_max_bytes !== this.values.tile_store_max_bytes) await this.store.setMaxBytes(next.tile_store_max_bytes);
    this.values = next;
    this.onChange(this.get());
  }
}
