// Farm API helpers for tests: calls as administrator, waiting for a job's status, the tiles a box
// covers (computed here from the slippy-map formulas, independently of the server's code), a job
// at the tile cap and the sight of it being stored.
import type Database from 'better-sqlite3';
import { ADMIN } from './auth.js';

export const FARM = '/farm/api/v3';

/** 9,977,055 tiles in 39,375 tasks: just under the largest cap (MAX_JOB_TILES, 10,000,000). */
export const AT_CAP = { type: 'seed', resources: [2], zoom: [0, 12], bbox: [-180, -85, -19, 85] };
export const CAP_TASKS = 39_375;

/** The job a server is storing (under construction), read from its SQLite database, with its tasks stored so far. */
export function jobUnderConstruction(db: Database.Database): { id: string; tasks: number } | undefined {
  return db.prepare(`SELECT id, (SELECT COUNT(*) FROM farm_task WHERE job_id = farm_job.id) AS tasks FROM farm_job
    WHERE status = 'under-construction'`).get() as { id: string; tasks: number } | undefined;
}

export async function farm(s: { url: string }, method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN) {
  const res = await fetch(s.url + FARM + path, {
    method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function waitForJob(s: { url: string }, id: string, statuses: string[], timeoutMs = 30_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const job = (await farm(s, 'GET', `/jobs/${id}`)).body;
    if (statuses.includes(job.status)) return job;
    if (Date.now() > end) throw new Error(`job ${id} is ${job.status}, not ${statuses.join('|')}: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Position in tiles (fractional) of a longitude and a latitude at zoom z. */
const lonToX = (lon: number, z: number) => ((lon + 180) / 360) * 2 ** z;
const latToY = (lat: number, z: number) => {
  const r = (lat * Math.PI) / 180;
  return ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z;
};

/** "z/x/y" of every tile the box reaches into (a tile it only touches at its right or bottom edge is not). */
export function expectedTiles([minx, miny, maxx, maxy]: number[], [z0, z1]: number[]): string[] {
  const out: string[] = [];
  for (let z = z0; z <= z1; z++) {
    const last = 2 ** z - 1;
    const clamp = (v: number) => Math.min(Math.max(v, 0), last);
    const x0 = clamp(Math.floor(lonToX(minx, z))), x1 = clamp(Math.ceil(lonToX(maxx, z)) - 1);
    const y0 = clamp(Math.floor(latToY(Math.min(maxy, 85.05), z))), y1 = clamp(Math.ceil(latToY(Math.max(miny, -85.05), z)) - 1);
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) out.push(`${z}/${x}/${y}`);
  }
  return out.sort();
}

/** Puts every awake worker to sleep; answers their ids. */
export async function sleepWorkers(s: { url: string }): Promise<string[]> {
  const awake = (await farm(s, 'GET', '/workers')).body.workers.filter((w: any) => w.status === 'awake').map((w: any) => w.id);
  for (const id of awake) await farm(s, 'POST', '/workers', { id, status: 'asleep' });
  return awake;
}
