// The one vt-pbf call the naive baseline makes (bench/mvt-naive.ts); vt-pbf ships no types.
declare module 'vt-pbf' {
  import type { LegacyTile } from 'geojson-vt';

  const vtpbf: {
    /** Layer name → a geojson-vt tile; the encoded tile's bytes. */
    fromGeojsonVt(layers: Record<string, LegacyTile>, options?: { version?: number; extent?: number }): Uint8Array;
  };
  export default vtpbf;
}
