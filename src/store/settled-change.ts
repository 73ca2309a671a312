// When a source's change counts: its stamp (see source-files.ts) must be the same at two checks in a
// row, so a file still being written (a copy, an export under way) is not read half-way. The catalog's
// file layers (catalog/source-watch.ts) and the data files of QGIS projects (qgis/project-cache.ts)
// follow this one rule.

/** One source's stamps as successive checks take them. */
export class SettledChange {
  private seen?: string;

  /**
   * Whether the source, at `stamp` now, differs from `read` (the stamp the data in use was read at)
   * and the previous check saw the same stamp: it changed and has stopped changing.
   */
  check(stamp: string, read: string | undefined): boolean {
    const settled = stamp === this.seen;
    this.seen = stamp;
    return settled && stamp !== read;
  }
}
