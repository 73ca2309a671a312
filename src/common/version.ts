// Meridian's own version, as its package.json gives it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Meridian's version from its package.json, found upwards from this file (src/ or dist/src/). */
function packageVersion(): string {
  for (let dir = import.meta.dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'meridian') return pkg.version;
    } catch { /* not here: look further up */ }
  }
  return 'unknown';
}

export const VERSION = packageVersion();
