// Talking to Meridian from the page: URLs relative to the page (so it works behind a path prefix), JSON, errors.

/** Optional server features, as GET viewer/features.json lists them; the page hides what is missing. */
export interface ServerFeatures {
  mvt: boolean;
  render: boolean;
  identify: boolean;
  auth: boolean;
  cache: boolean;
  pool: boolean;
}

/** A resource as GET api/resource/?parent= lists it (only what the viewer reads). */
/** A feature layer's block of the resource JSON, named after its class (vector_layer, postgis_layer). */
export interface LayerBlock { geometry_type: string | null; status?: string; error?: string }

export interface Resource {
  resource: { id: number; cls: string; display_name: string; children: boolean; parent: { id: number } | null };
  /** Present on every feature layer, whatever its class. */
  feature_layer?: { fields: unknown[] };
  vector_layer?: LayerBlock;
  postgis_layer?: LayerBlock;
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * An absolute URL for a server path (MapLibre needs absolute tile URLs). Joined as text, not with `new URL`,
 * which would percent-encode the {z}/{x}/{y} of tile templates.
 */
export function apiUrl(path: string): string {
  return new URL('.', document.baseURI).href + path;
}

/** Marks the page's requests as scripted: Meridian then answers 401 without a Basic challenge, so the browser
 * does not pop up its own login dialog (the page has a login form). */
export const SCRIPTED = { 'X-Requested-With': 'XMLHttpRequest' };

export async function fetchJson<T>(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<T> {
  const res = await fetch(apiUrl(path), { credentials: 'same-origin', ...init, headers: { ...SCRIPTED, ...init.headers } });
  const text = await res.text();
  let body: unknown;
  try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
  if (!res.ok) {
    const message = (body as { message?: string } | undefined)?.message ?? `${res.status} ${res.statusText}`;
    throw new HttpError(res.status, message);
  }
  return body as T;
}

export function postJson<T>(path: string, body: unknown): Promise<T> {
  return fetchJson<T>(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

export function childrenOf(parent: number): Promise<Resource[]> {
  return fetchJson<Resource[]>(`api/resource/?parent=${parent}`);
}
