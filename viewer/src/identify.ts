// Identify: which features of the layers on the map a click or a drawn polygon touches, through
// POST api/feature_layer/identify, shown in a popup of their fields.
import { Popup, type LngLatLike, type MapMouseEvent, type Map as MapLibreMap } from 'maplibre-gl';
import { postJson } from './api.js';
import { h, showStatus } from './dom.js';
import type { Ring } from './draw.js';

interface IdentifiedFeature { id: number; layerId: number; label: string; fields: Record<string, unknown> }
type IdentifyResponse = { featureCount: number } & Record<string, { featureCount: number; features: IdentifiedFeature[] } | number>;

/** A click identifies within this many pixels of the pointer, as NextGIS Web's client does. */
const CLICK_TOLERANCE_PX = 5;
/** Features listed per layer in the popup; the count says how many there are in all. */
const SHOWN_PER_LAYER = 20;

const wkt = (ring: Ring) => `POLYGON((${ring.map(([x, y]) => `${x} ${y}`).join(',')}))`;

/** The square of the click tolerance around a pointer, in longitude/latitude. */
export function clickSquare(map: MapLibreMap, e: MapMouseEvent): Ring {
  const { x, y } = e.point, d = CLICK_TOLERANCE_PX;
  const corners = [[x - d, y - d], [x + d, y - d], [x + d, y + d], [x - d, y + d], [x - d, y - d]] as const;
  return corners.map(([cx, cy]) => { const p = map.unproject([cx, cy]); return [p.lng, p.lat] as [number, number]; });
}

function fieldsTable(fields: Record<string, unknown>): HTMLTableElement {
  return h('table', {}, ...Object.entries(fields).map(([k, v]) =>
    h('tr', {}, h('th', {}, k), h('td', {}, v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)))));
}

function popupContent(answer: IdentifyResponse, layers: number[], nameOf: (id: number) => string): HTMLElement {
  const box = h('div', { className: 'identify' });
  if (answer.featureCount === 0) box.append(h('p', {}, 'Nothing here.'));
  for (const id of layers) {
    const result = answer[String(id)];
    if (typeof result !== 'object' || result.featureCount === 0) continue;
    box.append(h('h3', {}, `${nameOf(id)} (${result.featureCount})`));
    for (const f of result.features.slice(0, SHOWN_PER_LAYER)) {
      box.append(h('section', { className: 'feature' }, h('h4', {}, f.label), fieldsTable(f.fields)));
    }
    if (result.featureCount > SHOWN_PER_LAYER) box.append(h('p', {}, `… and ${result.featureCount - SHOWN_PER_LAYER} more.`));
  }
  return box;
}

export class Identify {
  private readonly popup = new Popup({ maxWidth: '320px' });

  constructor(private readonly map: MapLibreMap, private readonly layers: () => number[], private readonly nameOf: (id: number) => string) {}

  /** Identifies features touching `ring` (longitude/latitude) and opens the popup at `at`. */
  async run(ring: Ring, at: LngLatLike): Promise<void> {
    const layers = this.layers();
    if (layers.length === 0) { showStatus('Switch a layer on to identify its features.'); return; }
    try {
      const answer = await postJson<IdentifyResponse>('api/feature_layer/identify', { srs: 4326, geom: wkt(ring), layers });
      this.popup.setLngLat(at).setDOMContent(popupContent(answer, layers, this.nameOf)).addTo(this.map);
      showStatus('');
    } catch (e) {
      showStatus(`Identify: ${(e as Error).message}`);
    }
  }
}
