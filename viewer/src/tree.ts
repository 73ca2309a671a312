// The resource tree in the side panel: groups open lazily, a toggle per layer (vector tiles) and per style
// (rendered tiles), a button to zoom to a layer's extent. It also knows which feature layers are on the map.
import type { Map as MapLibreMap } from 'maplibre-gl';
import { childrenOf, fetchJson, type Resource, type ServerFeatures } from './api.js';
import { h, showStatus } from './dom.js';
import { hide, showRenderedStyle, showVectorLayer } from './layers.js';

interface Extent { extent: { minLon: number | null; minLat: number | null; maxLon: number | null; maxLat: number | null } }

const isFeatureLayer = (r: Resource) => r.feature_layer !== undefined;
const layerBlock = (r: Resource) => r.vector_layer ?? r.postgis_layer;
const isStyle = (r: Resource) => r.resource.cls.endsWith('_style');

export class LayerTree {
  private readonly names = new Map<number, string>();
  /** Map source id → the feature layer whose features it shows (a style shows its parent's). */
  private readonly shown = new Map<string, number>();

  constructor(private readonly map: MapLibreMap, private readonly features: ServerFeatures) {}

  /** Lists the children of `parent` into `list`, opening nested groups on demand. */
  async load(parent: number, list: HTMLUListElement): Promise<void> {
    let children: Resource[];
    try {
      children = await childrenOf(parent);
    } catch (e) {
      list.append(h('li', { className: 'error' }, (e as Error).message));
      return;
    }
    for (const child of children) list.append(this.item(child));
  }

  /** The ids of feature layers on the map, for identify. */
  visibleLayers(): number[] {
    return [...new Set(this.shown.values())];
  }

  nameOf(id: number): string {
    return this.names.get(id) ?? `#${id}`;
  }

  private item(r: Resource): HTMLLIElement {
    const { id, display_name: name, children } = r.resource;
    this.names.set(id, name);
    if (isFeatureLayer(r)) return this.layerItem(r);
    if (isStyle(r)) return this.styleItem(r);
    const list = h('ul', { className: 'tree' });
    const details = h('details', {}, h('summary', {}, name), list);
    let loaded = false;
    details.addEventListener('toggle', () => {
      if (details.open && !loaded) { loaded = true; void this.load(id, list); }
    });
    // Top-level groups start open: a newcomer sees layers at once.
    if (children && r.resource.parent?.id === 0) details.open = true;
    return h('li', { className: 'group' }, children ? details : h('span', {}, name));
  }

  private layerItem(r: Resource): HTMLLIElement {
    const { id, display_name: name, children } = r.resource;
    const block = layerBlock(r);
    const geometryType = block?.geometry_type ?? null;
    const failed = block?.status === 'error';
    const title = failed ? `could not be loaded: ${block?.error ?? 'unknown error'}`
      : this.features.mvt ? 'vector tiles' : 'vector tiles are not served here';
    const row = h('div', { className: 'row' },
      this.toggle(`mvt-${id}`, id, name, title, this.features.mvt && !failed, () => showVectorLayer(this.map, id, geometryType)),
      h('span', { className: 'geometry' }, (geometryType ?? '').toLowerCase()),
      h('button', { type: 'button', className: 'zoom', title: 'Zoom to extent', onclick: () => this.zoomTo(id) }, '⤢'));
    const li = h('li', { className: 'layer' }, row);
    if (children) {
      const styles = h('ul', { className: 'tree styles' });
      li.append(styles);
      void this.load(id, styles);
    }
    return li;
  }

  private styleItem(r: Resource): HTMLLIElement {
    const { id, display_name: name } = r.resource;
    const layerId = r.resource.parent?.id ?? id;
    const title = this.features.render ? 'rendered tiles' : 'rendered tiles are not served here';
    return h('li', { className: 'style' }, h('div', { className: 'row' },
      this.toggle(`render-${id}`, layerId, name, title, this.features.render, () => showRenderedStyle(this.map, id))));
  }

  private toggle(sourceId: string, layerId: number, name: string, title: string, enabled: boolean, show: () => void): HTMLLabelElement {
    const box = h('input', { type: 'checkbox', disabled: !enabled });
    box.dataset.source = sourceId;
    box.addEventListener('change', () => {
      if (box.checked) { show(); this.shown.set(sourceId, layerId); } else { hide(this.map, sourceId); this.shown.delete(sourceId); }
    });
    return h('label', { title }, box, ' ', name);
  }

  private async zoomTo(id: number): Promise<void> {
    try {
      const { extent: e } = await fetchJson<Extent>(`api/resource/${id}/extent`);
      if (e.minLon === null || e.minLat === null || e.maxLon === null || e.maxLat === null) { showStatus(`${this.nameOf(id)} has no features.`); return; }
      this.map.fitBounds([[e.minLon, e.minLat], [e.maxLon, e.maxLat]], { padding: 24, maxZoom: 16 });
    } catch (err) {
      showStatus(`Extent of ${this.nameOf(id)}: ${(err as Error).message}`);
    }
  }
}
