// Where a table's SRS can take points from EPSG:4326. PROJ refuses a point of a transverse
// Mercator (UTM, and national grids such as the British National Grid or Gauss-Krüger) some 85°
// or more from its central meridian near the equator ("Point outside of projection domain"), and
// PostGIS fails the whole transform, the query with it: a low-zoom tile or a large area asked of
// a UTM table was a 500. No feature of such a table lies that far out (it could not be stored),
// so a box is first cut to the meridians within DOMAIN_HALF_WIDTH of the central one.
import type pg from 'pg';

/** Degrees either side of the central meridian kept: PROJ took every point up to 80° (and refused 85° on the equator). */
const DOMAIN_HALF_WIDTH = 80;

/** The central meridian of a transverse Mercator proj4 definition; undefined for any other projection. */
export function centralMeridian(proj4: string): number | undefined {
  const param = (name: string) => new RegExp(`\\+${name}=(\\S+)`).exec(proj4)?.[1];
  const proj = param('proj');
  if (proj === 'utm') {
    const zone = Number(param('zone'));
    return Number.isInteger(zone) && zone >= 1 && zone <= 60 ? zone * 6 - 183 : undefined;
  }
  if (proj === 'tmerc' || proj === 'etmerc') {
    const lon0 = Number(param('lon_0') ?? 0);
    return Number.isFinite(lon0) ? lon0 : undefined;
  }
  return undefined;
}

/** The central meridian of `srid`'s transverse Mercator (see centralMeridian), from PostGIS's spatial_ref_sys. */
export async function centralMeridianOf(db: pg.Pool, srid: number): Promise<number | undefined> {
  const r = await db.query<{ proj4: string | null }>('SELECT proj4text AS proj4 FROM spatial_ref_sys WHERE srid = $1', [srid]);
  return centralMeridian(r.rows[0]?.proj4 ?? '');
}

/**
 * SQL cutting a box (SQL of EPSG:4326) to the meridians within DOMAIN_HALF_WIDTH of `lon0`: one
 * range, or two where it passes ±180°. ST_ClipByBox2D, as ST_Intersection makes nothing of a box
 * of no size (a point's); its output may be invalid, but only its vertices are used.
 */
export function domainCut(lon0: number): (box: string) => string {
  const west = lon0 - DOMAIN_HALF_WIDTH, east = lon0 + DOMAIN_HALF_WIDTH;
  const ranges = west < -180 ? [[-180, east], [west + 360, 180]] : east > 180 ? [[west, 180], [-180, east - 360]] : [[west, east]];
  const cut = (box: string, [w, e]: number[]) => `ST_ClipByBox2D(${box}, ST_MakeEnvelope(${w}, -90, ${e}, 90, 4326))`;
  return ranges.length === 1 ? (box) => cut(box, ranges[0]) : (box) => `ST_Collect(${ranges.map((r) => cut(box, r)).join(', ')})`;
}
