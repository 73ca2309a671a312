// Low-zoom tiles cut once, when a layer is prepared (as geojson-vt pre-cuts its z0–z5): they are
// the tiles that touch the most data, and a layer has few of them. Bounded by zoom and by bytes,
// so what a layer keeps never grows with what is asked. Only the single-layer tile with the
// default parameters is kept (the one web maps ask for); the main thread answers it without a
// worker trip.
import Flatbush from 'flatbush';
import { PbfWriter as Pbf } from 'pbf';
import { tileEtag } from '../tiles/etag.js';
import type { MvtLayerData } from './layer-data.js';
import { searchBoxes } from './project.js';
import { writeTileLayer, type TileParams } from './tile.js';

export interface LowZoomRequest {
  /** The MVT layer name, part of the bytes. */
  name: string;
  params: Omit<TileParams, 'z' | 'x' | 'y'>;
  maxZoom: number;
  maxBytes: number;
}

export interface LowZoomTiles {
  /** The MVT layer name they were cut with. */
  name: string;
  /** Highest zoom whose every tile was cut (-1: none): a tile of such a zoom not listed is empty. */
  completeZoom: number;
  /** "z/x/y" of each listed tile; its bytes are bodies[offsets[i] .. offsets[i + 1]). */
  keys: string[];
  etags: string[];
  bodies: Uint8Array;
  offsets: number[];
}

/** Rough floor of the bytes one feature takes in a tile, to skip cutting tiles that cannot fit. */
const MIN_FEATURE_BYTES = 8;

export function cutLowZooms(data: MvtLayerData, r: LowZoomRequest): LowZoomTiles {
  const index = Flatbush.from(data.geometry.index);
  const out: LowZoomTiles = { name: r.name, completeZoom: -1, keys: [], etags: [], bodies: new Uint8Array(0), offsets: [0] };
  const bodies: Uint8Array[] = [];
  let bytes = 0;
  // Raised by a tile that did not fit, so the next ones too big are skipped without cutting them.
  let perCandidate = MIN_FEATURE_BYTES;
  for (let z = 0; z <= r.maxZoom && bytes < r.maxBytes; z++) {
    let complete = true;
    for (let x = 0; x < 2 ** z; x++) {
      for (let y = 0; y < 2 ** z; y++) {
        let candidates = 0;
        for (const b of searchBoxes(z, x, y, r.params.padding, index.minX, index.maxX)) {
          candidates += index.search(b.minLon, b.minLat, b.maxLon, b.maxLat).length;
        }
        if (candidates === 0) continue;
        if (bytes + candidates * perCandidate > r.maxBytes) { complete = false; continue; }
        const pbf = new Pbf();
        if (writeTileLayer(pbf, data, r.name, { ...r.params, z, x, y }) === 0) continue;
        const body = pbf.finish();
        if (bytes + body.length > r.maxBytes) {
          perCandidate = Math.max(perCandidate, body.length / candidates);
          complete = false;
          continue;
        }
        bodies.push(body.slice());
        bytes += body.length;
        out.keys.push(`${z}/${x}/${y}`);
        out.etags.push(tileEtag(body));
        out.offsets.push(bytes);
      }
    }
    if (complete && out.completeZoom === z - 1) out.completeZoom = z;
  }
  out.bodies = new Uint8Array(new SharedArrayBuffer(Math.max(1, bytes)));
  bodies.forEach((b, i) => out.bodies.set(b, out.offsets[i]));
  return out;
}

/** Looks up pre-cut tiles on the main thread. */
export class LowZoomIndex {
  private readonly at = new Map<string, number>();

  constructor(private readonly tiles: LowZoomTiles) {
    tiles.keys.forEach((k, i) => this.at.set(k, i));
  }

  /** The tile's bytes and ETag; null when it is known empty; undefined when it was not pre-cut (or under another name). */
  tile(name: string, z: number, x: number, y: number): { body: Uint8Array; etag: string } | null | undefined {
    if (name !== this.tiles.name) return undefined;
    const i = this.at.get(`${z}/${x}/${y}`);
    if (i !== undefined) {
      const { bodies, offsets, etags } = this.tiles;
      // A copy: a tile kept in the cache must not hold the layer's (maybe replaced) preparation.
      return { body: bodies.slice(offsets[i], offsets[i + 1]), etag: etags[i] };
    }
    return z <= this.tiles.completeZoom ? null : undefined;
  }

  /** The tiles listed (those with features), in zoom order. */
  addresses(): { z: number; x: number; y: number }[] {
    return this.tiles.keys.map((k) => {
      const [z, x, y] = k.split('/').map(Number);
      return { z, x, y };
    });
  }

  get count(): number {
    return this.tiles.keys.length;
  }

  get bytes(): number {
    return this.tiles.offsets[this.tiles.offsets.length - 1];
  }
}
