// Whether a layer's datasource opens, per provider, as QGIS finds out when it loads a project: a
// file must exist and be readable (inside the projects root); a PostGIS table must answer. What
// Meridian cannot open itself is not vouched for: such a layer is reported bad, with the reason.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { relative } from 'node:path';
import { insideFolder, PathEscapeError } from '../common/paths.js';
import type { LayerSource } from './datasource.js';
import { checkPostgresSource } from './postgres-source.js';

/** Why a layer's datasource does not open; `unreachable` when its server did not answer (it may later). */
export interface SourceProblem {
  reason: string;
  unreachable?: boolean;
}

async function checkFile(file: string, root: string): Promise<string | undefined> {
  let path: string;
  try {
    path = insideFolder(root, relative(root, file));
  } catch (e) {
    if (e instanceof PathEscapeError) return 'datasource lies outside the projects root';
    throw e;
  }
  try {
    await access(path, constants.R_OK);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'datasource file does not exist' : 'datasource file cannot be read';
  }
}

/** XYZ tiles (the wms provider with type=xyz): QGIS opens them without asking the server anything. */
const isXyz = (provider: string, datasource: string) => provider === 'wms' && /(^|&)type=xyz(&|$)/.test(datasource);

/** Why the layer's datasource does not open, or undefined when it does. */
export async function datasourceProblem(provider: string, datasource: string, source: LayerSource, root: string): Promise<SourceProblem | undefined> {
  if (source.path) {
    const reason = await checkFile(source.path, root);
    return reason === undefined ? undefined : { reason };
  }
  // Annotation layers and memory (scratch) layers have nothing to open.
  if (provider === '' || provider === 'memory' || isXyz(provider, datasource)) return undefined;
  if (provider === 'postgres') return checkPostgresSource(datasource);
  return { reason: `provider "${provider}" is not checked by Meridian, so not vouched for` };
}
