// Styles and rasters of the catalog's resources, read once (QML file, inline JSON, raster_style
// options, GeoTIFF header) and kept. What a style cannot draw is logged once, when it is read.
import { readFileSync } from 'node:fs';
import type { ResourceEntry } from '../catalog/types.js';
import { insideFolder } from '../common/paths.js';
import { ApiError } from '../http/errors.js';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { ProjectLayer } from '../qgis/project.js';
import { parseJsonStyle } from './json-style.js';
import { parseQml, StyleError } from './qml.js';
import { rasterInfo, RasterError, releaseRaster, type RasterInfo } from './raster.js';
import { parseRasterStyle, type RasterStyle } from './raster-style.js';
import type { Style } from './style.js';

export class StyleBook {
  private readonly styles = new Map<number, Style | RasterStyle>();
  private readonly rasters = new Map<number, Promise<RasterInfo>>();
  /** Per project version: its layer objects are new at each load. Null: the layer's style cannot be drawn. */
  private readonly projectStyles = new WeakMap<ProjectLayer, Style | null>();

  constructor(private readonly config: Config, private readonly log: Logger) {}

  private unusable(entry: ResourceEntry, problem: string): ApiError {
    this.log.error({ resource: entry.id, error: problem }, 'style unusable');
    return new ApiError(503, 'STYLE_UNAVAILABLE', `Style ${entry.id} cannot be rendered: ${problem}.`);
  }

  private read<T extends Style | RasterStyle>(entry: ResourceEntry, parse: () => T): T {
    const known = this.styles.get(entry.id);
    if (known) return known as T;
    let style: T;
    try { style = parse(); } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') throw this.unusable(entry, `file "${entry.qml}" does not exist`);
      if (e instanceof StyleError) throw this.unusable(entry, err.message);
      throw e;
    }
    this.styles.set(entry.id, style);
    return style;
  }

  /** A qgis_vector_style's style; 503 STYLE_UNAVAILABLE when its file is missing or is not a style. */
  styleOf(entry: ResourceEntry): Style {
    return this.read(entry, () => {
      const style = entry.qml !== undefined
        ? parseQml(readFileSync(insideFolder(this.config.stylesDir, entry.qml), 'utf8'))
        : parseJsonStyle(entry.style);
      if (style.unsupported.length) this.log.warn({ resource: entry.id, unsupported: style.unsupported }, 'style parts not drawn');
      return style;
    });
  }

  /** A QGIS project layer's embedded style; null (logged once) when it is not one Meridian can draw. */
  projectLayerStyle(project: string, layer: ProjectLayer): Style | null {
    let style = this.projectStyles.get(layer);
    if (style === undefined) {
      try {
        style = parseQml(layer.qml);
        if (style.unsupported.length) this.log.warn({ project, layer: layer.name, unsupported: style.unsupported }, 'style parts not drawn');
      } catch (e) {
        if (!(e instanceof StyleError)) throw e;
        this.log.error({ project, layer: layer.name, error: e.message }, 'project layer style unusable; layer left out');
        style = null;
      }
      this.projectStyles.set(layer, style);
    }
    return style;
  }

  rasterStyleOf(entry: ResourceEntry): RasterStyle {
    return this.read(entry, () => parseRasterStyle(entry));
  }

  /** Raster layer `entry`'s file changed or went: it is checked again on next use, and drawing threads close it. */
  forgetRaster(entry: ResourceEntry): void {
    this.rasters.delete(entry.id);
    releaseRaster(this.rasterPath(entry));
  }

  private rasterPath(entry: ResourceEntry): string {
    return insideFolder(this.config.dataDir, entry.source!);
  }

  /** A raster layer's GeoTIFF, checked once (until it changes); 503 LAYER_UNAVAILABLE when it cannot be drawn. */
  async rasterOf(entry: ResourceEntry): Promise<RasterInfo> {
    let info = this.rasters.get(entry.id);
    if (!info) {
      info = rasterInfo(this.rasterPath(entry));
      this.rasters.set(entry.id, info);
    }
    try {
      return await info;
    } catch (e) {
      if (!(e instanceof RasterError)) throw e;
      this.log.error({ resource: entry.id, error: e.message }, 'raster unusable');
      throw new ApiError(503, 'LAYER_UNAVAILABLE', `Raster layer ${entry.id} cannot be drawn: "${entry.source}" ${e.message}.`);
    }
  }
}
