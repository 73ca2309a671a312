// The few JSTS classes Meridian uses from @turf/jsts (Turf's own JSTS build), which ships no types.
declare module '@turf/jsts' {
  import type { Geometry } from 'geojson';

  interface JstsGeometry { readonly __jsts: true }
  const jsts: {
    GeoJSONReader: new () => { read(g: Geometry): JstsGeometry };
    GeoJSONWriter: new () => { write(g: JstsGeometry): Geometry };
    BufferOp: { bufferOp(g: JstsGeometry, distance: number, quadrantSegments?: number): JstsGeometry };
  };
  export default jsts;
}
