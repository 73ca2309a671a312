// A QGIS 3 project as Meridian sees it: title, CRS and map layers, each with its datasource checked
// and its style kept as the QML QGIS would export for it.
import { stat } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { layerSource, type LayerSource } from './datasource.js';
import { layerTree, type LayerTree } from './layer-tree.js';
import { ProjectFileError, readProjectXml } from './project-file.js';
import { datasourceProblem } from './source-check.js';

export interface QgisCrs {
  authid: string;
  description: string;
}

export interface ProjectLayer {
  id: string;
  name: string;
  /** vector, raster, mesh, ... */
  type: string;
  provider: string;
  /** As written in the project. */
  datasource: string;
  crs: QgisCrs | null;
  source: LayerSource;
  /** False when the datasource cannot be opened: a "bad layer" in QGIS terms. */
  valid: boolean;
  /** Why it is not valid. */
  error?: string;
  /** Not valid because its server (a database) did not answer: the project is read again until it does (see ProjectCache). */
  unreachable?: true;
  /** Has geometries (a table without geometry is not spatial). */
  spatial: boolean;
  /** Shown on the project's map: checked in the layer tree, under checked groups. */
  visible: boolean;
  /** QGIS's "Identifiable" flag: identify (GetFeatureInfo) reports this layer. */
  identifiable: boolean;
  /** The field the layer's display expression names, when it is a plain field: what labels a feature. */
  displayField?: string;
  /**
   * The layer's style as a QML document (the <maplayer> element re-rooted as <qgis>, byte for
   * byte as QGIS wrote it), for the QML renderer to parse.
   */
  qml: string;
}

export interface QgisProject {
  filename: string;
  title: string;
  crs: QgisCrs | null;
  layers: ProjectLayer[];
  /** Layer ids in the order QGIS draws them, bottom first. */
  drawingOrder: string[];
  /** The file's modification time when it was read. */
  lastModified: Date;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'maplayer' || name === 'item',
});

type Node = Record<string, any> | string | undefined;

/** Text content of an element whether or not it carries attributes. */
function text(node: Node): string {
  if (node === undefined || node === null) return '';
  if (typeof node === 'string') return node;
  return typeof node['#text'] === 'string' ? node['#text'] : String(node['#text'] ?? '');
}

function crsOf(srs: Node): QgisCrs | null {
  const ref = typeof srs === 'object' ? srs?.spatialrefsys : undefined;
  const authid = text(ref?.authid);
  return authid ? { authid, description: text(ref?.description) } : null;
}

/** `EPSG:4326 - WGS 84`, as py-qgis-server prints a CRS. */
export function crsLabel(crs: QgisCrs | null): string {
  return crs ? `${crs.authid} - ${crs.description}` : '';
}

/** The raw <maplayer> elements, in document order: maplayers never nest. */
function rawMapLayers(xml: string): string[] {
  return xml.match(/<maplayer\b[\s\S]*?<\/maplayer>/g) ?? [];
}

function asQml(rawLayer: string, version: string): string {
  const body = rawLayer.replace(/^<maplayer\b/, `<qgis version="${version}"`).replace(/<\/maplayer>$/, '</qgis>');
  return `<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n${body}\n`;
}

/** `"name"` or `name`: a display expression that is just a field. */
function plainField(expression: string): string | undefined {
  return /^\s*(?:"((?:[^"]|"")+)"|([A-Za-z_]\w*))\s*$/.exec(expression)?.slice(1).find((f) => f !== undefined)?.replace(/""/g, '"');
}

/** The <custom-order> of the root group, top first, when the project draws in that order. */
function customOrder(qgis: Record<string, any>): string[] | null {
  const order = qgis['layer-tree-group']?.['custom-order'];
  return order?.['@_enabled'] === '1' ? (order.item ?? []).map(text) : null;
}

async function readLayer(node: Record<string, any>, raw: string, version: string, projectDir: string, root: string, tree: LayerTree): Promise<ProjectLayer> {
  const provider = text(node.provider);
  const datasource = text(node.datasource);
  const type = String(node['@_type'] ?? '');
  const source = layerSource(provider, datasource, projectDir);
  const problem = await datasourceProblem(provider, datasource, source, root);
  const geometry = node['@_geometry'];
  const id = text(node.id);
  const displayField = plainField(text(node.previewExpression));
  return {
    id,
    name: text(node.layername),
    type,
    provider,
    datasource,
    crs: crsOf(node.srs),
    source,
    valid: problem === undefined,
    ...(problem ? { error: problem.reason } : {}),
    ...(problem?.unreachable ? { unreachable: true } : {}),
    spatial: type !== 'vector' || (geometry !== undefined && geometry !== 'No geometry' && node['@_wkbType'] !== 'NoGeometry'),
    visible: tree.visible.has(id),
    identifiable: text(node.flags?.Identifiable) !== '0',
    ...(displayField ? { displayField } : {}),
    qml: asQml(raw, version),
  };
}

/** Reads a .qgs or .qgz; `root` is the projects root, which datasources may not leave. */
export async function readProject(filename: string, root: string): Promise<QgisProject> {
  const { mtime } = await stat(filename);
  const xml = await readProjectXml(filename);
  let doc: Record<string, any>;
  try { doc = parser.parse(xml); } catch (e) { throw new ProjectFileError(`${filename}: not valid XML (${(e as Error).message})`); }
  const qgis = doc.qgis;
  if (!qgis || typeof qgis !== 'object') throw new ProjectFileError(`${filename}: not a QGIS project (no <qgis> root)`);
  const version = String(qgis['@_version'] ?? '');
  const nodes: Record<string, any>[] = qgis.projectlayers?.maplayer ?? [];
  const raws = rawMapLayers(xml);
  if (raws.length !== nodes.length) throw new ProjectFileError(`${filename}: unexpected <maplayer> layout`);
  const projectDir = dirname(filename);
  const tree = layerTree(xml, customOrder(qgis));
  const layers = await Promise.all(nodes.map((n, i) => readLayer(n, raws[i], version, projectDir, root, tree)));
  return {
    filename,
    // QGIS leaves <title> empty until the user sets one; the file name is what QGIS shows then.
    title: text(qgis.title) || String(qgis['@_projectname'] ?? '') || basename(filename, extname(filename)),
    crs: crsOf(qgis.projectCrs),
    layers,
    // Layers missing from the tree (hand-edited files) are drawn below the rest, in file order.
    drawingOrder: [...layers.map((l) => l.id).filter((id) => !tree.drawingOrder.includes(id)), ...tree.drawingOrder.filter((id) => layers.some((l) => l.id === id))],
    lastModified: mtime,
  };
}
