// `npm run seed -- --resource 2 --zoom 0-6 [--bbox …]`: submits a seeding job to a running
// Meridian through its farm API and shows a progress bar until the job ends (exit 0 when it
// completed, 1 otherwise). Ctrl-C stops (pauses) the job. See seed-args.ts for the options.
import ProgressBar from 'progress';
import { seedCommand, UsageError, type SeedCommand } from './seed-args.js';

const POLL_MS = 250;
const ENDED = new Set(['completed', 'failed', 'canceled', 'paused']);

async function call(cmd: SeedCommand, method: string, path: string, body?: unknown): Promise<any> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (cmd.password !== undefined) headers.authorization = `Basic ${Buffer.from(`${cmd.user}:${cmd.password}`).toString('base64')}`;
  const res = await fetch(`${cmd.url}/farm/api/v3${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = (await res.json().catch(() => ({}))) as Record<string, any>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${answer.message ?? ''}`);
  return answer;
}

async function main(): Promise<number> {
  let cmd: SeedCommand;
  try {
    cmd = seedCommand(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof UsageError) { console.error(`seed: ${e.message}`); return 2; }
    throw e;
  }
  let job = await call(cmd, 'POST', '/jobs', cmd.job);
  console.log(`job ${job.id}: ${job.name}, ${job.progress.tiles_total} tiles`);
  process.once('SIGINT', () => { call(cmd, 'PUT', `/jobs/${job.id}`, { command: 'stop' }).catch(() => {}); });
  const bar = new ProgressBar(':bar :current/:total tiles :rate_tiles/s eta :eta_s failed :failed', {
    total: Math.max(job.progress.tiles_total, 1), width: 40, stream: process.stderr,
  });
  while (!ENDED.has(job.status)) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    job = await call(cmd, 'GET', `/jobs/${job.id}`);
    const p = job.progress;
    bar.update(p.tiles_done / Math.max(p.tiles_total, 1), { rate_tiles: p.rate, eta_s: p.eta_seconds ?? '?', failed: p.tiles_failed });
  }
  const p = job.progress;
  console.log(`job ${job.id} ${job.status}: ${p.tiles_done}/${p.tiles_total} tiles, ${p.tiles_generated} generated, ${p.tiles_skipped} skipped, ${p.tiles_failed} failed`);
  return job.status === 'completed' ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => { console.error(`seed: ${(e as Error).message}`); process.exit(1); });
