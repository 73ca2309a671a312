// A published resource as catalog.json declares it.
export interface ResourceEntry {
  id: number;
  cls: string;
  parent: number | null;
  display_name: string;
  keyname?: string | null;
  description?: string | null;
  /** Feature layers: file under the data directory, plus reader options (csv columns, gpkg layer, srs). */
  source?: string;
  /** Feature layers: the field whose value labels a feature (identify, popups). */
  label_field?: string;
  /** Styles: QML file under the styles directory. */
  qml?: string;
  /** Styles without QML: Meridian's JSON style (see render/json-style.ts). */
  style?: unknown;
  /** raster_style: colour ramp for a single-band raster (see render/raster-style.ts). */
  ramp?: unknown;
  /** qgis_project: the project's URI under the projects root (`world`, `europe/rivers`). */
  project?: string;
  /** ACL rules (auth/acl.ts), validated at start; replaced at run time by PUT /api/resource/{id}. */
  permissions?: unknown;
  [option: string]: unknown;
}
