// Waiting for work a server finishes after its answer (the tile store writes once the tile is sent).
import { existsSync } from 'node:fs';

/** Resolves once `check` holds, or after `ms` (the assertion that follows then fails with its own message). */
export async function until(check: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  for (const end = Date.now() + ms; !(await check()) && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
}

/** Resolves once `file` exists (a stored tile), or after `ms`. */
export const stored = (file: string, ms?: number) => until(() => existsSync(file), ms);
