// The map viewer served at GET /: a MapLibre map with no base map (it works offline), the resource tree,
// identify by click or polygon, login, and the administrators' cache and pool page.
import { Map as MapLibreMap, NavigationControl, ScaleControl } from 'maplibre-gl';
import { setUpAdmin } from './admin.js';
import { fetchJson, SCRIPTED, type ServerFeatures } from './api.js';
import { setUpLogin } from './auth.js';
import { byId, showStatus } from './dom.js';
import { PolygonDraw } from './draw.js';
import { clickSquare, Identify } from './identify.js';
import { LayerTree } from './tree.js';
import './style.css';

async function main(): Promise<void> {
  const features = await fetchJson<ServerFeatures>('viewer/features.json');
  const map = new MapLibreMap({
    container: 'map',
    style: { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#dfe9f0' } }] },
    center: [0, 20],
    zoom: 1,
    transformRequest: (url) => ({ url, headers: SCRIPTED }),
    attributionControl: { compact: false, customAttribution: 'Sample data: <a href="https://www.naturalearthdata.com/">Natural Earth</a> · Meridian' },
  });
  map.addControl(new NavigationControl(), 'top-right');
  map.addControl(new ScaleControl(), 'bottom-left');
  // Errors go to the status line for people; MapLibre would otherwise print them to the console.
  map.on('error', (e) => showStatus(e.error?.message ?? 'map error'));
  // The page's test waits for this, and it helps anyone scripting the page.
  (window as unknown as { meridianMap: MapLibreMap }).meridianMap = map;
  await map.once('load');

  const tree = new LayerTree(map, features);
  void tree.load(0, byId<HTMLUListElement>('tree'));

  if (features.identify) {
    const draw = new PolygonDraw(map);
    const identify = new Identify(map, () => tree.visibleLayers(), (id) => tree.nameOf(id));
    byId('identify-tools').hidden = false;
    byId('draw').addEventListener('click', () => draw.start((ring) => void identify.run(ring, ring[0])));
    map.on('click', (e) => {
      if (draw.active) return;
      draw.clear();
      void identify.run(clickSquare(map, e), e.lngLat);
    });
  }
  // The management API is for administrators: with users about, offer it only to someone signed in.
  const signedIn = features.auth ? await setUpLogin().catch((e: Error) => { showStatus(`Login: ${e.message}`); return false; }) : true;
  if (signedIn) setUpAdmin(features);
}

main().catch((e: Error) => showStatus(`The viewer could not start: ${e.message}`));
