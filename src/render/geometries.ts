// Features in output pixel coordinates, flat, so a batch crosses to a worker thread as a few
// typed arrays. Built from EPSG:4326 GeoJSON through Web Mercator for one frame; vertices closer
// than a fifth of a pixel to the previous one are dropped, since they cannot change the image.
import type { Geometry, Position } from 'geojson';
import type { FieldValue } from '../store/types.js';
import type { Frame } from './units.js';
import { mercatorX, mercatorY } from './mercator.js';

export const enum GeometryKind { Point = 1, Line = 2, Polygon = 3 }

export interface PixelGeometries {
  /** Per feature. */
  kinds: Uint8Array;
  /** count + 1 offsets into partStarts. */
  featureParts: Uint32Array;
  /** parts + 1 vertex offsets into coords. For polygons each part is a ring; a polygon's rings follow its outer ring. */
  partStarts: Uint32Array;
  /** x, y per vertex, in pixels from the frame's top-left corner. */
  coords: Float32Array;
  /** Per feature: only the fields the style reads. */
  fields: Record<string, FieldValue>[];
}

const MIN_STEP = 0.2;

export class PixelGeometryBuilder {
  private kinds: number[] = [];
  private featureParts: number[] = [0];
  private partStarts: number[] = [0];
  private coords: number[] = [];
  private fieldRows: Record<string, FieldValue>[] = [];
  private readonly scale: number;

  constructor(private readonly frame: Frame, private readonly fieldNames: string[]) {
    this.scale = frame.width / (frame.extent[2] - frame.extent[0]);
  }

  private part(positions: Position[], closed: boolean): void {
    const { scale } = this;
    const [minx, , , maxy] = this.frame.extent;
    const first = this.coords.length;
    let lastX = NaN, lastY = NaN;
    for (let k = 0; k < positions.length; k++) {
      const x = (mercatorX(positions[k][0]) - minx) * scale;
      const y = (maxy - mercatorY(positions[k][1])) * scale;
      const isLast = k === positions.length - 1;
      if (Math.abs(x - lastX) + Math.abs(y - lastY) < MIN_STEP && !(isLast && !closed)) continue;
      this.coords.push(x, y);
      lastX = x; lastY = y;
    }
    const vertices = (this.coords.length - first) / 2;
    if (vertices < (closed ? 3 : 1)) { this.coords.length = first; return; }
    this.partStarts.push(this.coords.length / 2);
  }

  add(geometry: Geometry | null, fields: Record<string, FieldValue>): void {
    if (!geometry) return;
    const parts = this.partStarts.length;
    let kind: GeometryKind;
    switch (geometry.type) {
      case 'Point': kind = GeometryKind.Point; this.part([geometry.coordinates], false); break;
      case 'MultiPoint': kind = GeometryKind.Point; geometry.coordinates.forEach((p) => this.part([p], false)); break;
      case 'LineString': kind = GeometryKind.Line; this.part(geometry.coordinates, false); break;
      case 'MultiLineString': kind = GeometryKind.Line; geometry.coordinates.forEach((l) => this.part(l, false)); break;
      case 'Polygon': kind = GeometryKind.Polygon; geometry.coordinates.forEach((r) => this.part(r, true)); break;
      case 'MultiPolygon': kind = GeometryKind.Polygon; geometry.coordinates.forEach((p) => p.forEach((r) => this.part(r, true))); break;
      default: return;
    }
    if (this.partStarts.length === parts) return;
    this.kinds.push(kind);
    this.featureParts.push(this.partStarts.length - 1);
    const row: Record<string, FieldValue> = {};
    for (const name of this.fieldNames) row[name] = fields[name] ?? null;
    this.fieldRows.push(row);
  }

  finish(): PixelGeometries {
    return {
      kinds: Uint8Array.from(this.kinds),
      featureParts: Uint32Array.from(this.featureParts),
      partStarts: Uint32Array.from(this.partStarts),
      coords: Float32Array.from(this.coords),
      fields: this.fieldRows,
    };
  }
}
