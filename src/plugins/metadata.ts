// A plugin's metadata.txt, the INI file QGIS plugins carry ([general] name, version, author, ...).
import { readFile } from 'node:fs/promises';
import { parse } from 'ini';

export type PluginMetadata = Record<string, Record<string, string>>;

/** Keys are lower-cased, as Python's configparser (and so py-qgis-server) reports them. */
export async function readMetadata(file: string): Promise<PluginMetadata> {
  const parsed = parse(await readFile(file, 'utf8'));
  const out: PluginMetadata = {};
  for (const [section, values] of Object.entries(parsed)) {
    if (!values || typeof values !== 'object') continue;
    out[section] = Object.fromEntries(Object.entries(values).map(([k, v]) => [k.toLowerCase(), String(v)]));
  }
  if (!out.general?.name) throw new Error('metadata.txt has no [general] name');
  return out;
}

/** QGIS loads a plugin on the server only when its metadata says server=True. */
export function isServerPlugin(metadata: PluginMetadata): boolean {
  return /^(true|1|yes)$/i.test(metadata.general?.server ?? '');
}
