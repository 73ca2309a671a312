// Runs `node --import tsx src/main.ts ...` as a child process, as a user would start Meridian, and
// reads what it prints: JSON log lines on stdout, start-up errors on stderr.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './server.js';

export interface ChildServer {
  proc: ChildProcess;
  /** Every JSON log line printed so far. */
  logs: Record<string, any>[];
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Resolves with the first log line that `match` accepts. */
  waitForLog(match: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  /** Resident set size in bytes, from /proc. */
  rss(): number;
}

export function spawnMeridian(args: string[], env: Record<string, string> = {}): ChildServer {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), ...args], {
    // The management port is off unless asked for, so parallel runs never collide on 19876.
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', MERIDIAN_MANAGEMENT_PORT: 'off', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, any>[] = [];
  const waiters: { match: (l: Record<string, any>) => boolean; resolve: (l: Record<string, any>) => void }[] = [];
  let pending = '', stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const text of lines) {
      let line: Record<string, any>;
      try { line = JSON.parse(text); } catch { continue; }
      logs.push(line);
      for (const w of [...waiters]) if (w.match(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal!)));
  return {
    proc, logs, exited,
    stderr: () => stderr,
    waitForLog(match, timeoutMs = 60_000) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching log line in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        waiters.push({ match, resolve: (l) => { clearTimeout(timer); resolve(l); } });
        exited.then((code) => { clearTimeout(timer); reject(new Error(`meridian exited (${code}) first; stderr: ${stderr}`)); });
      });
    },
    rss() {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return kb ? Number(kb[1]) * 1024 : NaN;
    },
  };
}

/** Starts Meridian on a free port and waits until it listens; returns its base URL too. */
export async function startMeridian(args: string[], env: Record<string, string> = {}): Promise<ChildServer & { url: string }> {
  const child = spawnMeridian(['--port', '0', '--host', '127.0.0.1', ...args], env);
  const listening = await child.waitForLog((l) => l.msg === 'listening');
  return { ...child, url: listening.url };
}
