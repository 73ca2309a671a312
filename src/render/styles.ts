// The Style of each style resource, read once (QML file or inline JSON) and kept; what it cannot
// draw is logged once, when it is read.
import { readFileSync } from 'node:fs';
import type { ResourceEntry } from '../catalog/types.js';
import { insideFolder } from '../common/paths.js';
import { ApiError } from '../http/errors.js';
import { parseJsonStyle } from './json-style.js';
import { parseQml, StyleError } from './qml.js';
import type { Services } from '../services.js';
import type { Style } from './style.js';

export class StyleBook {
  private readonly styles = new Map<number, Style>();

  constructor(private readonly services: Services) {}

  /** The entry's style; 503 STYLE_UNAVAILABLE when its file is missing or is not a style. */
  styleOf(entry: ResourceEntry): Style {
    let style = this.styles.get(entry.id);
    if (style) return style;
    try {
      style = entry.qml !== undefined
        ? parseQml(readFileSync(insideFolder(this.services.config.stylesDir, entry.qml), 'utf8'))
        : parseJsonStyle(entry.style);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (!(e instanceof StyleError) && err.code !== 'ENOENT') throw e;
      const problem = err.code === 'ENOENT' ? `file "${entry.qml}" does not exist` : err.message;
      this.services.log.error({ resource: entry.id, error: problem }, 'style unusable');
      throw new ApiError(503, 'STYLE_UNAVAILABLE', `Style ${entry.id} cannot be rendered: ${problem}.`);
    }
    if (style.unsupported.length) {
      this.services.log.warn({ resource: entry.id, unsupported: style.unsupported }, 'style parts not drawn');
    }
    this.styles.set(entry.id, style);
    return style;
  }
}
