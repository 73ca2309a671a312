// Reading served MVT tiles in tests: decoding with @mapbox/vector-tile, the spec's projection of
// source coordinates into tile units, and the raw type of each attribute value on the wire.
import { VectorTile, type VectorTileFeature } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';

export function decode(bytes: Uint8Array): VectorTile {
  return new VectorTile(new PbfReader(bytes));
}

export function features(tile: VectorTile, layer: string): VectorTileFeature[] {
  const l = tile.layers[layer];
  return l ? Array.from({ length: l.length }, (_, i) => l.feature(i)) : [];
}

/**
 * A served tile's features in `layer` as plain data: id, properties, vertices inside the tile, by id.
 * Vertices in the buffer around it may differ: runs of a ring beyond the tile are cut short per chunk
 * of the packed vertex array, and a window of a PostGIS layer packs a feature at another offset than a whole file.
 */
export function insideFeatures(bytes: ArrayBuffer, layer: string, extent = 4096) {
  return features(decode(new Uint8Array(bytes)), layer)
    .map((f) => ({ id: f.id, properties: f.properties, inside: f.loadGeometry().flat().filter((p) => p.x >= 0 && p.x <= extent && p.y >= 0 && p.y <= extent) }))
    .sort((a, b) => a.id! - b.id!);
}

/** Web Mercator tile units of lon/lat in tile z/x/y (spec: XYZ, y down). */
export function toTile(lon: number, lat: number, z: number, x: number, y: number, extent = 4096): [number, number] {
  const sin = Math.sin((lat * Math.PI) / 180);
  const wy = 0.5 - (0.25 * Math.log((1 + sin) / (1 - sin))) / Math.PI;
  return [((lon / 360 + 0.5) * 2 ** z - x) * extent, (wy * 2 ** z - y) * extent];
}

/** The spec's surveyor's formula in tile coordinates: exterior rings are positive. */
export function ringArea(ring: { x: number; y: number }[]): number {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) sum += ring[j].x * ring[i].y - ring[i].x * ring[j].y;
  return sum / 2;
}

export function segmentDistance(px: number, py: number, a: number[], b: number[]): number {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len = dx * dx + dy * dy;
  const t = len ? Math.max(0, Math.min(1, ((px - a[0]) * dx + (py - a[1]) * dy) / len)) : 0;
  return Math.hypot(px - (a[0] + t * dx), py - (a[1] + t * dy));
}

/** Value message field number per decoded value, read from the raw layer (1 string, 3 double, 5 uint, 6 sint, 7 bool…). */
export function valueWireTypes(bytes: Uint8Array, layerName: string): Map<unknown, number> {
  return new Map(layerValues(bytes, layerName));
}

/** A layer's values table as written, in order: each decoded value with its Value message field number. */
export function layerValues(bytes: Uint8Array, layerName: string): [unknown, number][] {
  const out: [unknown, number][] = [];
  new PbfReader(bytes).readFields((tag, _, tile) => {
    if (tag !== 3) return;
    const end = tile.readVarint() + tile.pos;
    let name = '';
    const values: [unknown, number][] = [];
    while (tile.pos < end) {
      const val = tile.readVarint(), field = val >> 3;
      if (field === 1) name = tile.readString();
      else if (field === 4) {
        const vEnd = tile.readVarint() + tile.pos;
        const vTag = tile.readVarint() >> 3;
        const v = vTag === 1 ? tile.readString() : vTag === 2 ? tile.readFloat() : vTag === 3 ? tile.readDouble()
          : vTag === 4 ? tile.readVarint(true) : vTag === 5 ? tile.readVarint() : vTag === 6 ? tile.readSVarint() : tile.readBoolean();
        values.push([v, vTag]);
        tile.pos = vEnd;
      } else tile.skip(val);
    }
    if (name === layerName) out.push(...values);
  }, null);
  return out;
}
