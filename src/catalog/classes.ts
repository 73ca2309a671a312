// The resource classes Meridian publishes, as NextGIS Web names them, with what each one offers.
export interface ResourceClass {
  /** NGW interface names listed in the resource JSON. */
  interfaces: string[];
  /** Permission scopes that apply to it. */
  scopes: string[];
  /** A layer holding features, reached by the feature, export, tile and identify endpoints. */
  featureLayer?: boolean;
  /** Where a feature layer's data lives: a file under the data directory, or a PostGIS table. */
  storage?: 'file' | 'postgis';
  /** A GeoTIFF raster, drawn through its raster_style children. */
  rasterLayer?: boolean;
  /** A style that renders its parent layer. */
  style?: boolean;
  /** For styles: the kind of layer a style of this class draws (its parent). */
  styles?: 'featureLayer' | 'rasterLayer';
  /** A QGIS project under the projects root (entry field `project`): its vector layers, with their embedded styles. */
  qgisProject?: boolean;
}

const BASE = ['resource', 'metadata'];

export const RESOURCE_CLASSES: Record<string, ResourceClass> = {
  resource_group: { interfaces: [], scopes: BASE },
  vector_layer: {
    interfaces: ['IFeatureLayer', 'IBboxLayer'],
    scopes: [...BASE, 'datastruct', 'data'],
    featureLayer: true,
    storage: 'file',
  },
  postgis_layer: {
    interfaces: ['IFeatureLayer', 'IBboxLayer'],
    scopes: [...BASE, 'datastruct', 'data'],
    featureLayer: true,
    storage: 'postgis',
  },
  qgis_vector_style: { interfaces: ['IRenderableStyle'], scopes: [...BASE, 'data'], style: true, styles: 'featureLayer' },
  raster_layer: { interfaces: ['IBboxLayer'], scopes: [...BASE, 'data'], rasterLayer: true },
  qgis_project: { interfaces: ['IRenderableStyle'], scopes: [...BASE, 'datastruct', 'data'], qgisProject: true },
  raster_style: { interfaces: ['IRenderableStyle'], scopes: [...BASE, 'data'], style: true, styles: 'rasterLayer' },
};
