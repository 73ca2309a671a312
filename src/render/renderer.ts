// Drawing styled layers into PNGs in the worker pool, for the render endpoints and for seeding:
// styles are read once (StyleBook); each layer's data goes to the workers once per version (RenderLayers).
import type { Logger } from 'pino';
import type { Catalog } from '../catalog/catalog.js';
import type { ResourceEntry } from '../catalog/types.js';
import type { Config } from '../config.js';
import { ApiError } from '../http/errors.js';
import { featureLayerOf } from '../http/resources.js';
import { taskModule, type WorkerPool } from '../pool/pool.js';
import type { ProjectVectorLayer } from '../qgis/project-resource.js';
import type { BBox, FeatureLayer } from '../store/types.js';
import { windowOf } from '../store/window.js';
import type { LayerRef } from '../tiling/layers.js';
import type { TileAddress } from '../tiles/address.js';
import type { CachedTile } from '../tiles/cache.js';
import { tileEtag } from '../tiles/etag.js';
import { queryBox, tileFrame } from './frame.js';
import { RenderLayers } from './layers.js';
import { latOf, lonOf } from './mercator.js';
import type { RasterInfo } from './raster.js';
import type { RasterStyle } from './raster-style.js';
import type { Style } from './style.js';
import { reachOf } from './svg.js';
import { StyleBook } from './styles.js';
import { RENDER_TASK, type RenderRequest } from './task.js';
import type { Frame } from './units.js';

/**
 * Images above this many pixels are heavy pool tasks (a 4096² render of a big layer holds a worker
 * for seconds): they never take the last worker, which tiles need.
 */
const HEAVY_IMAGE_PIXELS = 1024 * 1024;

export type StyledLayer = { styleEntry: ResourceEntry; layerEntry: ResourceEntry } & (
  /** `ref`: whose data the workers hold, the layer's id or a QGIS project layer's ref. */
  | { kind: 'vector'; style: Style; layer: FeatureLayer; ref: LayerRef }
  | { kind: 'raster'; style: RasterStyle; raster: RasterInfo });

/** What `entry` styles (a feature or a raster layer); 422 when it is not a style. */
export function styleKind(catalog: Catalog, entry: ResourceEntry): 'featureLayer' | 'rasterLayer' {
  const styles = catalog.classOf(entry).styles;
  if (!styles) throw new ApiError(422, 'NOT_A_STYLE', `Resource ${entry.id} is a ${entry.cls}, not a style.`);
  return styles;
}

export class Renderer {
  private readonly book: StyleBook;
  private readonly sources: RenderLayers;

  constructor(private readonly pool: WorkerPool, config: Config, log: Logger, private readonly catalog: Catalog) {
    this.book = new StyleBook(config, log);
    this.sources = new RenderLayers(pool);
    pool.register(RENDER_TASK, taskModule('./task.js', import.meta.url));
    catalog.onLayerChange((id) => {
      this.sources.changed(id);
      const entry = catalog.get(id);
      if (entry && catalog.classOf(entry).rasterLayer) this.book.forgetRaster(entry);
    });
  }

  /** The style resource `styleEntry` with its data; the caller has checked permissions on both entries. */
  async styledLayer(styleEntry: ResourceEntry): Promise<StyledLayer> {
    const styles = styleKind(this.catalog, styleEntry);
    const layerEntry = this.catalog.get(styleEntry.parent!)!;
    return styles === 'rasterLayer'
      ? { kind: 'raster', styleEntry, layerEntry, style: this.book.rasterStyleOf(styleEntry), raster: await this.book.rasterOf(layerEntry) }
      : { kind: 'vector', styleEntry, layerEntry, style: this.book.styleOf(styleEntry), layer: await featureLayerOf({ catalog: this.catalog }, layerEntry), ref: layerEntry.id };
  }

  /** Raster layer `entry`'s extent in EPSG:4326 (its GeoTIFF's box); 503 LAYER_UNAVAILABLE when the file cannot be drawn. */
  async rasterExtent(entry: ResourceEntry): Promise<BBox> {
    const { srs, bbox: [x0, y0, x1, y1] } = await this.book.rasterOf(entry);
    return srs === 4326 ? [x0, y0, x1, y1] : [lonOf(x0), latOf(y0), lonOf(x1), latOf(y1)];
  }

  /** A QGIS project's layers (chosen and read) with the styles embedded in the project; one whose style cannot be drawn is left out. */
  projectLayers(entry: ResourceEntry, projectKey: string, layers: readonly ProjectVectorLayer[]): StyledLayer[] {
    return layers.flatMap((l): StyledLayer[] => {
      const style = this.book.projectLayerStyle(projectKey, l.info);
      return style ? [{ kind: 'vector', styleEntry: entry, layerEntry: entry, style, layer: l.layer, ref: l.ref }] : [];
    });
  }

  /** Workers drop what they hold for a layer that is gone (an evicted or replaced project's). */
  forget(ref: LayerRef): void {
    this.sources.changed(ref);
  }

  /** The PNG of the styled layers over the frame, lower to upper; null when nothing is drawn. */
  async image(layers: readonly StyledLayer[], frame: Frame, signal?: AbortSignal): Promise<Buffer | null> {
    const request: RenderRequest = { frame, layers: [] };
    const shipped = [];
    for (const l of layers) {
      if (l.kind === 'raster') {
        request.layers.push({ kind: 'raster', raster: l.raster, style: l.style });
        continue;
      }
      const window = await windowOf(l.layer, [queryBox(frame, reachOf(l.style, frame))], signal);
      const source = this.sources.source(l.ref, window);
      shipped.push(source);
      request.layers.push({ kind: 'vector', key: source.key, style: l.style });
    }
    const heavy = frame.width * frame.height > HEAVY_IMAGE_PIXELS;
    const png = await this.pool.run<Uint8Array | null>(RENDER_TASK, request, { layers: shipped, signal, heavy });
    return png && Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  }

  /** The 256×256 tile at `at`; an empty body when nothing is drawn (the endpoints answer that as they are asked to). */
  async tile(layers: readonly StyledLayer[], at: TileAddress, signal?: AbortSignal): Promise<CachedTile> {
    const png = await this.image(layers, tileFrame(at.z, at.x, at.y), signal);
    return { body: png ?? Buffer.alloc(0), etag: png ? tileEtag(png) : '""', contentType: 'image/png' };
  }
}
