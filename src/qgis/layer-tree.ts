// The project's layer tree (<layer-tree-group>): which layers the map shows (checked, under checked
// groups) and the order QGIS draws them in. XML parsers that group children by tag lose the order
// of layers and groups within a group, so the tree's tags are read in document order.

export interface LayerTree {
  /** Layer ids, the one drawn first (bottom) first. */
  drawingOrder: string[];
  /** Ids of the layers the project's map shows. */
  visible: Set<string>;
}

const TAG = /<(\/?)layer-tree-(group|layer)\b([^>]*?)(\/?)>/g;
const attribute = (attrs: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(attrs)?.[1];

/** The tree's layer ids top first (as the Layers panel lists them), each with whether it is shown. */
function treeLayers(xml: string): { id: string; shown: boolean }[] {
  const out: { id: string; shown: boolean }[] = [];
  // Whether each open group is shown; the root group is, whatever it says.
  const groups: boolean[] = [];
  for (const [, closing, kind, attrs, selfClosing] of xml.matchAll(TAG)) {
    if (kind === 'group') {
      if (closing) groups.pop();
      else if (!selfClosing) groups.push(groups.length === 0 || (groups.at(-1)! && attribute(attrs, 'checked') === 'Qt::Checked'));
    } else if (!closing) {
      const id = attribute(attrs, 'id');
      if (id) out.push({ id, shown: groups.at(-1) !== false && attribute(attrs, 'checked') === 'Qt::Checked' });
    }
  }
  return out;
}

/** `customOrder`: the <custom-order> items, top first, when the project enables it. */
export function layerTree(xml: string, customOrder: string[] | null): LayerTree {
  const layers = treeLayers(xml);
  // QGIS draws the top of the list last, on top of the others.
  const topFirst = customOrder ?? layers.map((l) => l.id);
  return { drawingOrder: [...topFirst].reverse(), visible: new Set(layers.filter((l) => l.shown).map((l) => l.id)) };
}
