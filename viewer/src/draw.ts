// Drawing one polygon on the map: a click adds a vertex, a double-click finishes, Escape cancels.
import type { GeoJSONSource, MapMouseEvent, Map as MapLibreMap } from 'maplibre-gl';

export type Ring = [number, number][];

const SOURCE = 'draw';
/** Map layers are added below this one, so the shape being drawn stays on top. */
export const DRAW_BOTTOM_LAYER = 'draw-fill';

export class PolygonDraw {
  private vertices: Ring = [];
  private done: ((ring: Ring) => void) | null = null;

  constructor(private readonly map: MapLibreMap) {
    map.addSource(SOURCE, { type: 'geojson', data: this.shape() });
    map.addLayer({ id: DRAW_BOTTOM_LAYER, type: 'fill', source: SOURCE, paint: { 'fill-color': '#3367d6', 'fill-opacity': 0.15 } });
    map.addLayer({ id: 'draw-line', type: 'line', source: SOURCE, paint: { 'line-color': '#3367d6', 'line-width': 2, 'line-dasharray': [2, 1] } });
    map.on('click', (e) => this.add(e));
    map.on('dblclick', (e) => this.finish(e));
    window.addEventListener('keydown', (e) => { if (e.key === 'Escape' && this.active) this.stop(); });
  }

  get active(): boolean {
    return this.done !== null;
  }

  /** Starts drawing; `onDone` receives the closed ring in longitude/latitude. */
  start(onDone: (ring: Ring) => void): void {
    this.vertices = [];
    this.done = onDone;
    this.map.doubleClickZoom.disable();
    this.map.getCanvas().style.cursor = 'crosshair';
    this.redraw();
  }

  private add(e: MapMouseEvent): void {
    if (!this.active) return;
    const v: [number, number] = [e.lngLat.lng, e.lngLat.lat];
    const last = this.vertices.at(-1);
    // A double-click also fires two clicks on the same spot: keep one vertex.
    if (!last || last[0] !== v[0] || last[1] !== v[1]) this.vertices.push(v);
    this.redraw();
  }

  private finish(e: MapMouseEvent): void {
    if (!this.active) return;
    e.preventDefault();
    const onDone = this.done!;
    const ring = this.vertices;
    // The finished shape stays on the map beside its identify popup, until clear() or the next drawing.
    this.stop(ring.length >= 3);
    if (ring.length >= 3) onDone([...ring, ring[0]]);
  }

  clear(): void {
    if (!this.active) { this.vertices = []; this.redraw(); }
  }

  private stop(keepShape = false): void {
    this.done = null;
    if (!keepShape) { this.vertices = []; this.redraw(); }
    this.map.getCanvas().style.cursor = '';
    // Re-enabled after the double-click's own zoom handler has seen (and skipped) this event.
    setTimeout(() => this.map.doubleClickZoom.enable(), 0);
  }

  private shape(): GeoJSON.Feature {
    const v = this.vertices;
    if (v.length >= 3) return { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[...v, v[0]]] } };
    return { type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: v } };
  }

  private redraw(): void {
    (this.map.getSource(SOURCE) as GeoJSONSource).setData(this.shape());
  }
}
