// Answers streamed feature by feature (exports, the feature list): the first read before the
// answer starts, output in chunks with a turn for other requests between them, the features'
// source closed however the answer ends, and an answer its reader stopped taking ended.
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Output between two turns given to other requests: a fast reader never pushes back, and the
 * stream pulls the next piece in a microtask, so a big export would hold the event loop
 * throughout (a 35 MB CSV ~0.9 s, a 56 MB GeoJSON ~0.6 s).
 */
export const CHUNK = 64 * 1024;

/**
 * Reads the first item before the response starts, so that a source failing at once (a
 * database that cannot be reached) answers its JSON error instead of a cut 200. `return` goes on
 * to the source even before the first read, so a client gone early still frees its cursor.
 */
export async function started<T>(items: AsyncIterable<T>): Promise<AsyncIterableIterator<T>> {
  const it = items[Symbol.asyncIterator]();
  let first: IteratorResult<T> | null = await it.next();
  const resumed: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]: () => resumed,
    next() {
      const r = first;
      first = null;
      return r ? Promise.resolve(r) : it.next();
    },
    return(value?: unknown) {
      first = null;
      return it.return ? it.return(value) : Promise.resolve({ done: true, value: undefined });
    },
  };
  return resumed;
}

/** `pieces` joined into chunks of about CHUNK characters, with a turn for other requests after each. */
export async function* chunked(pieces: AsyncIterable<string>): AsyncGenerator<string> {
  let buf = '';
  for await (const piece of pieces) {
    buf += piece;
    if (buf.length >= CHUNK) {
      yield buf;
      buf = '';
      await nextTurn();
    }
  }
  if (buf) yield buf;
}

/** A streamed answer's reader took nothing for `ms`: the body fails with it (see streamedBody). */
export class StreamStalled extends Error {
  readonly code = 'STREAM_STALLED';

  constructor(readonly ms: number) {
    super(`the reader of the answer took nothing for ${ms} ms`);
  }
}

/**
 * A body streaming `pieces`, made from `source` (opened with `started`): the source ends with the
 * body however it ends. Destroyed before its first read (its client gone while the first batch
 * was read), the generator over the source never starts, so nothing else would close it.
 *
 * A body its reader takes nothing from for `stallTimeoutMs` (0: never) fails with StreamStalled,
 * which ends the response and destroys its socket: a client that stops reading without leaving
 * would hold the source (a database cursor and its pool connection) for as long as it stays.
 * The body is asked for more each time the socket may be written to again, which the kernel says
 * once a share of its send buffer has gone out (1.5 MB of a 4 MB one on loopback): a reader
 * taking that much per stallTimeoutMs, however slowly, is not cut.
 */
export function streamedBody(source: AsyncIterableIterator<unknown>, pieces: AsyncIterable<string>, stallTimeoutMs: number): Readable {
  const body: Readable = Readable.from(untilStalled(chunked(pieces), stallTimeoutMs, () => body.destroy(new StreamStalled(stallTimeoutMs))));
  body.once('close', () => { source.return?.().catch(() => {}); });
  return body;
}

/**
 * `pieces`, calling `stalled` once one has waited `ms` (0: never) for the next to be asked for:
 * a body asks while it has room, so that wait is the time it has been full, its reader taking nothing.
 */
async function* untilStalled(pieces: AsyncIterable<string>, ms: number, stalled: () => void): AsyncGenerator<string> {
  for await (const piece of pieces) {
    const timer = ms > 0 ? setTimeout(stalled, ms) : undefined;
    try {
      yield piece;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A JSON array of `items`, each written by `json`, as pieces of text. */
export async function* jsonArray<T>(items: AsyncIterable<T>, json: (item: T) => unknown, open = '[', close = ']'): AsyncGenerator<string> {
  yield open;
  let first = true;
  for await (const item of items) {
    yield (first ? '' : ',') + JSON.stringify(json(item));
    first = false;
  }
  yield close;
}
