// Showing resources on the map: a feature layer as vector tiles with a default style for its geometry type,
// a QGIS style as the server's rendered PNG tiles.
import type { LayerSpecification, Map as MapLibreMap } from 'maplibre-gl';
import { apiUrl } from './api.js';
import { DRAW_BOTTOM_LAYER } from './draw.js';

const below = (map: MapLibreMap) => (map.getLayer(DRAW_BOTTOM_LAYER) ? DRAW_BOTTOM_LAYER : undefined);

const PALETTE = ['#d95f02', '#1b9e77', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d'];
/** Each layer switched on takes the next colour, so layers on the map at once look different. */
let layersShown = 0;

/** Which kinds of MapLibre layer draw a geometry type; unknown types get all of them, each filtered. */
function drawnAs(geometryType: string | null): ('fill' | 'line' | 'circle')[] {
  const type = (geometryType ?? '').toUpperCase().replace(/^MULTI/, '').replace(/Z$/, '');
  if (type === 'POLYGON') return ['fill', 'line'];
  if (type === 'LINESTRING') return ['line'];
  if (type === 'POINT') return ['circle'];
  return ['fill', 'line', 'circle'];
}

const GEOMETRY_OF = { fill: 'Polygon', line: 'LineString', circle: 'Point' } as const;

function vectorStyle(id: number, kind: 'fill' | 'line' | 'circle', color: string, filtered: boolean): LayerSpecification {
  // Each MVT layer is named "ngw:{id}", as NextGIS Web names them.
  const common = { id: `mvt-${id}-${kind}`, source: `mvt-${id}`, 'source-layer': `ngw:${id}` };
  const filter = filtered ? { filter: ['==', ['geometry-type'], GEOMETRY_OF[kind]] as ['==', ['geometry-type'], string] } : {};
  if (kind === 'fill') return { ...common, ...filter, type: 'fill', paint: { 'fill-color': color, 'fill-opacity': 0.45 } };
  if (kind === 'line') return { ...common, ...filter, type: 'line', paint: { 'line-color': color, 'line-width': filtered ? 1.5 : 1 } };
  return { ...common, ...filter, type: 'circle', paint: { 'circle-color': color, 'circle-radius': 4, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } };
}

export function showVectorLayer(map: MapLibreMap, id: number, geometryType: string | null): void {
  map.addSource(`mvt-${id}`, {
    type: 'vector',
    tiles: [apiUrl(`api/resource/${id}/{z}/{x}/{y}.mvt`)],
    // Past this zoom MapLibre scales the last tiles up rather than asking for ever smaller ones.
    maxzoom: 16,
  });
  const color = PALETTE[layersShown++ % PALETTE.length];
  const kinds = drawnAs(geometryType);
  for (const kind of kinds) map.addLayer(vectorStyle(id, kind, color, kinds.length === 3), below(map));
}

export function showRenderedStyle(map: MapLibreMap, styleId: number): void {
  map.addSource(`render-${styleId}`, {
    type: 'raster',
    tiles: [apiUrl(`api/component/render/tile?resource=${styleId}&z={z}&x={x}&y={y}`)],
    tileSize: 256,
  });
  map.addLayer({ id: `render-${styleId}`, type: 'raster', source: `render-${styleId}` }, below(map));
}

/** Removes whatever showVectorLayer or showRenderedStyle added for a source. */
export function hide(map: MapLibreMap, sourceId: string): void {
  for (const layer of map.getStyle().layers) {
    if ('source' in layer && layer.source === sourceId) map.removeLayer(layer.id);
  }
  if (map.getSource(sourceId)) map.removeSource(sourceId);
}
