// Answers streamed feature by feature (exports, the feature list): the first chunk made before
// the answer starts, output in chunks with a turn for other requests between them, the features'
// source closed however the answer ends, and an answer its reader stopped taking ended.
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Output between two turns given to other requests: a fast reader never pushes back, and the
 * stream pulls the next piece in a microtask, so a big export would hold the event loop
 * throughout (a 35 MB CSV ~0.9 s, a 56 MB GeoJSON ~0.6 s).
 */
export const CHUNK = 64 * 1024;

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
 * A body streaming `pieces`, made from `source`: the source ends with the body however it ends.
 * The first chunk is made before the body is given: a source failing before then (a database out
 * of reach, a statement past its bound) answers its JSON error, not a 200 cut short or, if no
 * byte had been written, a connection closed without a status; an answer of one chunk is whole
 * before it starts. Destroyed before its first read (its client gone meanwhile), the body never
 * goes on to the source, so nothing else would close it.
 *
 * A body its reader takes nothing from for `stallTimeoutMs` (0: never) fails with StreamStalled,
 * which ends the response and destroys its socket: a client that stops reading without leaving
 * would hold the source (a database cursor and its pool connection) for as long as it stays.
 * The body is asked for more each time the socket may be written to again, which the kernel says
 * once a share of its send buffer has gone out (1.5 MB of a 4 MB one on loopback): a reader
 * taking that much per stallTimeoutMs, however slowly, is not cut.
 */
export async function streamedBody(source: AsyncGenerator<unknown>, pieces: AsyncIterable<string>, stallTimeoutMs: number): Promise<Readable> {
  const chunks = chunked(pieces);
  let first: IteratorResult<string>;
  try {
    first = await chunks.next();
  } catch (err) {
    await source.return(undefined).catch(() => {});
    throw err;
  }
  const body: Readable = Readable.from(untilStalled(resumed(first, chunks), stallTimeoutMs, () => body.destroy(new StreamStalled(stallTimeoutMs))));
  body.once('close', () => { source.return(undefined).catch(() => {}); });
  return body;
}

/** The items of `rest` after `first`, its first result, was read. */
async function* resumed<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done) return;
  yield first.value;
  yield* rest;
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
