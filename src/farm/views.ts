// The farm's records as Flamenco's API shapes them (snake_case, ISO timestamps), with the tile
// fields Meridian adds.
import type { FarmWorker } from './seeder.js';
import { eta } from './seeder.js';
import type { JobCounts, JobRecord, ManagerRecord, TaskRecord } from './types.js';

const iso = (ms: number) => new Date(ms).toISOString();

export function jobView(job: JobRecord, counts: JobCounts, rate: number) {
  return {
    id: job.id, name: job.name, type: job.type, priority: job.priority, status: job.status, activity: job.activity,
    created: iso(job.created), updated: iso(job.updated),
    format: job.format, resources: job.resources, zoom: job.zoom, bbox: job.bbox,
    // Flamenco keeps job-type parameters in settings; the same fields are repeated there for its clients.
    settings: { format: job.format, resources: job.resources, zoom: job.zoom, bbox: job.bbox },
    metadata: {},
    progress: {
      tiles_total: counts.total, tiles_done: counts.done, tiles_generated: counts.generated, tiles_skipped: counts.skipped,
      tiles_failed: counts.failed, rate: Math.round(rate * 100) / 100, eta_seconds: eta(counts.total - counts.done, rate),
    },
  };
}

export function taskName(t: TaskRecord): string {
  return `z${t.z} x${t.xMin}-${t.xMax} y${t.yMin}-${t.yMax}`;
}

export function taskView(t: TaskRecord, job: JobRecord) {
  return {
    id: t.id, name: taskName(t), status: t.status, priority: job.priority, job_id: t.jobId, type: job.type, activity: t.activity,
    worker: t.worker ? { id: t.worker, name: t.worker, manager: t.manager } : null, updated: iso(t.updated),
    z: t.z, x: [t.xMin, t.xMax], y: [t.yMin, t.yMax],
    counts: { tiles_total: t.tilesTotal, tiles_done: t.nextIndex, tiles_generated: t.generated, tiles_skipped: t.skipped, tiles_failed: t.failed },
  };
}

export function workerView(w: FarmWorker, manager: string) {
  return {
    id: w.id, name: w.name, status: w.status, manager,
    supported_task_types: ['seed', 'reseed', 'truncate'],
    task: w.task ? { id: w.task.id, name: taskName(w.task), job_id: w.task.jobId } : null,
    tiles_per_second: Math.round(w.tilesPerSecond * 100) / 100,
  };
}

export function managerView(m: ManagerRecord, self: string) {
  return { uuid: m.uuid, name: m.name, url: m.url, total_workers: m.totalWorkers, registered: iso(m.registered), last_seen: iso(m.lastSeen), this: m.uuid === self };
}
