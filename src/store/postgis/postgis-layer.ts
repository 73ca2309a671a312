// A feature layer read from a PostGIS table on every request: bbox queries use the GiST index
// (&&), shapes are tested in SQL too (see `plan`), attribute filters are SQL conditions
// (filter-sql.ts), and long reads a server-side cursor so an export of any size holds one batch
// in memory (see `features`). Geometry crosses the wire only where it is used (see `plan`). A
// QGIS project's layer may carry a subset filter (its `sql=`), ANDed into every query.
import type { Geometry } from 'geojson';
import pg from 'pg';
import wkx from 'wkx';
import { ApiError } from '../../http/errors.js';
import { allFinite, vertexCount } from '../../common/coordinates.js';
import { timeSlices } from '../../common/time-slices.js';
import { NUMERIC } from '../columns.js';
import { coerce } from '../fields.js';
import { SourceError } from '../source.js';
import type { BBox, Feature, FeatureLayer, FeatureQuery, FieldValue, LayerSchema, SortKey } from '../types.js';
import { guarded, leased, Lease } from './connections.js';
import { filterSql } from './filter-sql.js';
import { centralMeridianOf, domainCut } from './srs-domain.js';
import { describeTable, qualified, type TableAddress, type TableColumns } from './table.js';

/** Rows fetched per cursor read: small enough to stream, large enough to keep round trips few. */
const BATCH = 500;

/**
 * Most vertices of a shape tested in SQL. PostGIS's distance test costs the shape's vertices times
 * each candidate's; beyond this, candidates of the GiST box are read out and tested here. On the
 * 10 m countries (bench:identify) a 5-vertex box took 2.6 s tested in SQL against 11 s read out,
 * but France's outline (24,524 vertices) 102 s in SQL. With reads cut to what is used (see `plan`),
 * a 300-vertex shape over Europe took 1.5 s either way.
 */
const SQL_SHAPE_MAX_VERTICES = 256;

/** A row read: the fid, the geometry as WKB when selected, each field as f0, f1… */
/** SRSs whose parallels and meridians are straight lines: a box in one is bounded in the other by its corners. */
const STRAIGHT_GRATICULE = new Set([4326, 3857]);

/**
 * Pieces a box's edges are cut into before it is brought to another SRS (see `tableBox`): what an
 * edge bulges between two cuts is then some 1/4096 of what it bulged between the corners.
 */
const BOX_EDGE_CUTS = 64;

interface Row { fid: number | string; geom?: Buffer | null; [value: string]: unknown }

/**
 * A row's geometry; none for one with a coordinate that is not a number: WKB has no empty point,
 * and PostGIS writes POINT EMPTY as a point of NaNs, which no transform takes (read as no
 * geometry, as GeoPackage's empty ones are).
 */
function geometryOf(row: Row): Geometry | null {
  if (!row.geom) return null;
  const g = wkx.Geometry.parse(row.geom).toGeoJSON() as Geometry;
  return allFinite(g) ? g : null;
}

/** A geometry as WKB, which carries the doubles exactly (GeoJSON text rounds them, and tiles would differ from the file's). */
const wkbOf = (geometry: string) => `ST_AsBinary(${geometry})`;

/**
 * How a query reads the features: its FROM and WHERE clauses and parameters, the geometry it selects
 * (SQL of a WKB value; null for none), and the test left to run here on each row read (see SQL_SHAPE_MAX_VERTICES).
 */
interface Plan { from: string; where: string; params: unknown[]; geometry: string | null; test?: (g: Geometry) => boolean }

/** `base`, or it with underscores before it, whichever first is not in `taken`. */
function unusedName(base: string, taken: Set<string>): string {
  let name = base;
  while (taken.has(name)) name = `_${name}`;
  return name;
}

export class PostgisLayer implements FeatureLayer {
  readonly schema: LayerSchema;
  private readonly from: string;
  /** The geometry column, as the GiST index serves `&&` (which does not compare SRIDs). */
  private readonly geom: string;
  /**
   * The geometry column in its SRID: set where the rows carry none (TableColumns.sridMissing), else
   * transforms and tests refuse them; as simple types where it may hold others (TableColumns.untyped).
   */
  private readonly geomInSrid: string;
  /** The geometry column in EPSG:4326, where shapes are tested (see `plan`). */
  private readonly geom4326: string;
  /**
   * The FROM item (and its one column) holding each row's geometry in EPSG:4326 where a query both
   * tests and reads it (see `plan`), named apart from the table and its columns, which queries name unqualified.
   */
  private readonly transformed: string;
  private readonly fidColumn: string;
  /** The subset filter, parenthesised, or undefined. */
  private readonly subset: string | undefined;
  /**
   * The name of the cursor `features` reads through: the table's, as pg_stat_activity shows a
   * FETCH, not its query (PostgreSQL cuts a name past 63 bytes, in DECLARE and FETCH alike).
   */
  private readonly cursor: string;

  /** Rows of the ST_AsMVT query: the fid, the tile geometry, each field under its own name. */
  private readonly mvtSelect: string;
  /** Cuts a box of EPSG:4326 to where the table's SRS takes points, if it does not take them all (srs-domain.ts). */
  private readonly domain: ((box: string) => string) | undefined;

  private constructor(private readonly db: pg.Pool, private readonly name: string, t: TableAddress, private readonly columns: TableColumns,
    subset: string | undefined, meridian: number | undefined) {
    this.domain = meridian === undefined ? undefined : domainCut(meridian);
    this.schema = { fields: columns.fields, geometryType: columns.geometryType, sourceSrs: columns.srid };
    this.from = qualified(t);
    this.geom = pg.escapeIdentifier(t.columnGeom);
    // Read as the simple types (curves as lines, triangles as polygons) where the column may hold others.
    const simple = columns.untyped ? `ST_ForceSFS(${this.geom})` : this.geom;
    this.geomInSrid = columns.sridMissing ? `ST_SetSRID(${simple}, ${columns.srid})` : simple;
    this.geom4326 = columns.srid === 4326 ? this.geomInSrid : `ST_Transform(${simple}, 4326)`;
    this.transformed = pg.escapeIdentifier(unusedName('geom_4326', new Set([t.table, t.columnId, t.columnGeom, ...columns.fields.map((f) => f.keyname)])));
    this.fidColumn = pg.escapeIdentifier(t.columnId);
    this.cursor = pg.escapeIdentifier(`${t.schema}.${t.table}`);
    this.subset = subset ? `(${subset})` : undefined;
    this.mvtSelect = [`${this.fidColumn} AS mvt_fid`,
      `ST_AsMVTGeom(ST_Transform(${this.geomInSrid}, 3857), ST_TileEnvelope($1, $2, $3), $4::int, $5::int, true) AS mvt_geom`,
      ...columns.selects.map((s, i) => `${s} AS ${pg.escapeIdentifier(columns.fields[i].keyname)}`)].join(', ');
  }

  /**
   * One MVT layer named `layerName` of tile z/x/y, made by PostGIS (ST_AsMVT): the bench shows it
   * faster than reading the features out at the zooms where tiles are small; empty when no feature
   * is in the tile. `padding` is a share of the tile, as in MvtOptions. Once `signal` aborts (every
   * client of the tile gone) the query is cancelled on the server and its reason thrown.
   */
  async mvtLayer(layerName: string, z: number, x: number, y: number, extent: number, padding: number, signal?: AbortSignal): Promise<Buffer> {
    const r = await leased(this.db, this.name, signal, (client) => client.query<{ mvt: Buffer }>(
      `SELECT ST_AsMVT(q, $6, $4::int, 'mvt_geom', 'mvt_fid') AS mvt FROM (
         SELECT ${this.mvtSelect} FROM ${this.from}
          ${this.whereOf([`${this.geom} && ${this.tableBox('ST_TileEnvelope($1, $2, $3, margin => $7::float8)', 3857)}`])}) q`,
      [z, x, y, extent, Math.round(padding * extent), layerName, padding]));
    return r.rows[0].mvt;
  }

  /**
   * `box` (SQL of a box in EPSG:`srid`) as a box of the table's SRS that holds all of it, for the
   * GiST index's `&&`. A transform moves vertices only, and an edge between two corners may bulge
   * past the box of the corners: in UTM a 10° box's lower edge (a parallel) lies 12 km further south
   * at the central meridian than at the corners, and features there were no candidates. So the
   * edges are cut first (BOX_EDGE_CUTS), and the box grown by 1%, past what bulges between cuts.
   */
  private tableBox(box: string, srid: number): string {
    const to = this.columns.srid;
    if (srid === to) return box;
    if (STRAIGHT_GRATICULE.has(srid) && STRAIGHT_GRATICULE.has(to)) return `ST_Transform(${box}, ${to})`;
    const span = (g: string) => `GREATEST(ST_XMax(${g}) - ST_XMin(${g}), ST_YMax(${g}) - ST_YMin(${g}))`;
    // Cut first to where the SRS takes points (nothing, if the box is all outside: no candidate).
    const within = this.domain ? this.domain(srid === 4326 ? box : `ST_Transform(${box}, 4326)`) : box;
    // A scalar subquery: computed once per query (an InitPlan), and the index still serves `&&`.
    // A box of no size (a point's: an intersects= or identify click) has no edge to cut, and
    // ST_Segmentize refuses a length of 0.
    return `(SELECT ST_Expand(t, ${span('t')} / 100) FROM (SELECT ST_Transform(CASE WHEN ${span('e')} > 0 THEN ST_Segmentize(e, ${span('e')} / ${BOX_EDGE_CUTS}) ELSE e END, ${to}) AS t
      FROM (SELECT ${within} AS e) b) c)`;
  }

  /**
   * Reads the table's structure; fails with a 503 ApiError if the database cannot be reached.
   * `subset` is SQL from a trusted author (a QGIS project's `sql=`, never a client's): it must
   * parse as one expression on the table, checked here once with the extended protocol, which
   * refuses several statements in one text.
   */
  static async open(db: pg.Pool, name: string, t: TableAddress, subset?: string): Promise<PostgisLayer> {
    const columns = await guarded(name, () => describeTable(db, t), db);
    if (subset) {
      // queryMode is pg's, missing from its type definitions.
      await guarded(name, () => db.query({ text: `SELECT 1 FROM ${qualified(t)} WHERE (${subset}) LIMIT 0`, queryMode: 'extended' } as pg.QueryConfig), db)
        .catch((err: Error) => { throw err instanceof ApiError ? err : new SourceError(`its subset filter (sql=) does not apply: ${err.message}`); });
    }
    const meridian = STRAIGHT_GRATICULE.has(columns.srid) ? undefined : await guarded(name, () => centralMeridianOf(db, columns.srid), db);
    return new PostgisLayer(db, name, t, columns, subset, meridian);
  }

  /** A WHERE clause of `terms` and the subset filter; empty when there are none. */
  private whereOf(terms: string[]): string {
    const all = this.subset ? [...terms, this.subset] : terms;
    return all.length ? `WHERE ${all.join(' AND ')}` : '';
  }

  /** The select list of a feature query: the fid, `geometry` as geom unless null, the fields as f0, f1… */
  private selectOf(geometry: string | null): string {
    return [`${this.fidColumn} AS fid`, ...(geometry ? [`${geometry} AS geom`] : []),
      ...this.columns.selects.map((s, i) => `${s} AS f${i}`)].join(', ');
  }

  private featureOf(row: Row, geometry: Geometry | null): Feature {
    const fields: Record<string, FieldValue> = {};
    this.schema.fields.forEach((f, i) => { fields[f.keyname] = coerce(row[`f${i}`], f.datatype); });
    return { fid: Number(row.fid), geometry, fields };
  }

  /** Runs one query on a connection of the layer's pool (its failures as Lease.failure says). */
  private query<R extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    return leased(this.db, this.name, undefined, (client) => client.query<R>(text, params));
  }

  async count(): Promise<number> {
    const r = await this.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${this.from} ${this.whereOf([])}`);
    return r.rows[0].n;
  }

  async extent(): Promise<BBox | null> {
    const r = await this.query<{ e: number[] | null }>(
      `SELECT CASE WHEN e IS NULL THEN NULL ELSE ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] END AS e
         FROM (SELECT ST_Extent(${this.geom4326}) AS e FROM ${this.from} ${this.whereOf([])}) s`);
    return (r.rows[0].e as BBox | null) ?? null;
  }

  async feature(fid: number): Promise<Feature | null> {
    // As bigint: an id past the column's type (an int4 column) is no row, not an error.
    const r = await this.query<Row>(`SELECT ${this.selectOf(wkbOf(this.geom4326))} FROM ${this.from} ${this.whereOf([`${this.fidColumn} = $1::bigint`])}`, [fid]);
    return r.rowCount ? this.featureOf(r.rows[0], geometryOf(r.rows[0])) : null;
  }

  /**
   * How to read the features of `query`. Geometry the caller uses is read whole; other geometry is
   * not read, but for what a test here needs. That test answers the same on the part of a feature
   * in the shape's clip box (SpatialFilter.clipBox), so SQL passes over the candidates of the GiST
   * box that never come into it (their distance to a 5-vertex box), and for a caller that does not
   * use the geometry cuts the rest to it (ST_ClipByBox2D: GEOS's quick rectangle cut; its result
   * may be invalid along the box's border, as Turf's cut here is, away from the shape). Before,
   * identify over Europe read whole 10 m country outlines, 100 MB, to throw most of them away.
   *
   * A shape is tested as the file store tests it: in EPSG:4326 (a shape brought to the table's SRID
   * instead would have other edges between its vertices; the GiST box only finds candidates).
   * Distance 0 rather than ST_Intersects: the same answer on valid geometries, and no GEOS
   * TopologyException on invalid ones (Natural Earth has some), which failed the request. On a
   * table in another SRS, a geometry tested and read too (answered, or read out for the test here)
   * was transformed in WHERE and again in the select list for every row that passed (PostgreSQL
   * computes each expression where it is written): a function in FROM transforms it once. Tested
   * only, it is transformed once as it is, and the join would cost a little (bench in README).
   */
  private plan(query: FeatureQuery): Plan {
    const params: unknown[] = [];
    const terms: string[] = [];
    const area = query.area;
    const testedInSql = area !== undefined && vertexCount(area.shape) <= SQL_SHAPE_MAX_VERTICES;
    const transformOnce = area !== undefined && (query.geometry !== false || !testedInSql) && this.columns.srid !== 4326;
    const geom4326 = transformOnce ? this.transformed : this.geom4326;
    const from = transformOnce ? `${this.from} CROSS JOIN LATERAL ${this.geom4326} AS ${this.transformed}` : this.from;
    let geometry = query.geometry === false ? null : wkbOf(geom4326);
    const bbox = query.bbox ?? area?.bbox;
    if (bbox) {
      params.push(...bbox);
      terms.push(`${this.geom} && ${this.tableBox('ST_MakeEnvelope($1, $2, $3, $4, 4326)', 4326)}`);
    }
    let test: ((g: Geometry) => boolean) | undefined;
    if (area && testedInSql) {
      const n = params.push(JSON.stringify(area.shape));
      terms.push(`ST_DWithin(${geom4326}, ST_SetSRID(ST_GeomFromGeoJSON($${n}), 4326), 0)`);
    } else if (area) {
      const n = params.push(...area.clipBox);
      const clipBox = `ST_MakeEnvelope($${n - 3}, $${n - 2}, $${n - 1}, $${n}, 4326)`;
      terms.push(`ST_DWithin(${geom4326}, ${clipBox}, 0)`);
      geometry ??= wkbOf(`ST_ClipByBox2D(${geom4326}, ${clipBox})`);
      test = (g) => area.intersects(g);
    }
    if (query.filter) terms.push(...filterSql(query.filter, { ...this.columns, fidColumn: this.fidColumn }, params));
    return { from, where: this.whereOf(terms), params, geometry, test };
  }

  /**
   * The ORDER BY list of a query: its sort keys, then the fid. Texts (dates and times are read as
   * ISO text) in code point order, as the layers in memory order them, not by the database's locale.
   */
  private orderOf(keys: SortKey[] = []): string {
    return [...keys.map((k) => {
      const i = this.schema.fields.findIndex((f) => f.keyname === k.field);
      const text = !NUMERIC.has(this.schema.fields[i].datatype);
      return `${this.columns.selects[i]}${text ? ' COLLATE "C"' : ''} ${k.descending ? 'DESC NULLS FIRST' : 'ASC NULLS LAST'}`;
    }), this.fidColumn].join(', ');
  }

  async *features(query: FeatureQuery = {}): AsyncGenerator<Feature> {
    if (query.limit !== undefined && query.limit <= 0) return;
    // A shape tested here pages here too; otherwise SQL pages (attribute filters are SQL's, see `plan`).
    const { from, where, params, geometry, test } = this.plan(query);
    const pagedHere = test !== undefined;
    // Whether features keep the geometry read (else it was read for the test only, or not at all).
    const keep = query.geometry !== false;
    let page = '';
    if (!pagedHere && query.offset) page += ` OFFSET $${params.push(Math.trunc(query.offset))}::bigint`;
    if (!pagedHere && query.limit !== undefined) page += ` LIMIT $${params.push(Math.trunc(query.limit))}::bigint`;
    let skip = pagedHere ? query.offset ?? 0 : 0;
    let left = pagedHere ? query.limit ?? Infinity : Infinity;
    const select = `SELECT ${this.selectOf(geometry)} FROM ${from} ${where} ORDER BY ${this.orderOf(query.orderBy)}${page}`;
    // A page SQL cuts to one batch is read by one statement: no cursor, and none of its round trips.
    const onePage = !pagedHere && query.limit !== undefined && query.limit <= BATCH;
    const lease = await Lease.take(this.db, this.name, query.signal);
    const run = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
      lease.client.query<R>(text, values).catch((err: unknown) => { throw lease.failure(err); });
    try {
      // Else a cursor of SQL's, in a transaction: each FETCH is a statement of its own, which the
      // pool's statement_timeout bounds. A portal of the protocol's (as pg-cursor reads) is timed
      // as one statement from its first batch to its last: an export streaming longer than the
      // bound would be stopped mid-way. Planned for every row, as such a portal is (a cursor is
      // planned for its first tenth by default).
      if (!onePage) {
        await run('BEGIN; SET LOCAL cursor_tuple_fraction = 1');
        await run(`DECLARE ${this.cursor} NO SCROLL CURSOR FOR ${select}`, params);
      }
      // Tests here (a shape too big for SQL) take turns with other requests: a batch of big
      // candidates can take seconds.
      const pause = timeSlices();
      for (;;) {
        // A client gone between two reads found the backend idle: its cancel stopped nothing.
        query.signal?.throwIfAborted();
        const { rows } = await (onePage ? run<Row>(select, params) : run<Row>(`FETCH ${BATCH} FROM ${this.cursor}`));
        for (const row of rows) {
          const g = geometryOf(row);
          if (test) {
            await pause();
            if (!(g && test(g))) continue;
          }
          if (skip > 0) { skip--; continue; }
          yield this.featureOf(row, keep ? g : null);
          if (--left <= 0) return;
        }
        if (onePage || rows.length < BATCH) return;
      }
    } finally {
      // A consumer that stops early (a client gone mid-export) lands here too. The transaction's
      // end closes the cursor, also after a failed statement aborted it: the connection goes
      // back to the pool idle (a lost one is not put back).
      await lease.release(onePage ? undefined : 'ROLLBACK');
    }
  }
}
