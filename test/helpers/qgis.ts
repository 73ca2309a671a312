// A temporary projects root holding the QGIS-written fixtures as projects/ and data/, so the
// projects' relative datasources (../data/…) resolve inside it.
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHARED } from './server.js';

export const HAS_SHARED = existsSync(join(SHARED, 'projects'));
export const SKIP_SHARED = HAS_SHARED ? false : `QGIS fixtures not found at ${SHARED}`;

export function tempProjectsRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'meridian-projects-'));
  cpSync(join(SHARED, 'projects'), join(root, 'projects'), { recursive: true });
  cpSync(join(SHARED, 'data'), join(root, 'data'), { recursive: true });
  return root;
}
