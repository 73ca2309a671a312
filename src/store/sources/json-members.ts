// The members of a top-level JSON object read from a byte stream, with one array member given
// element by element, each as its own bytes. A byte scanner finds where each value ends (tracking
// strings and nesting) and checks the structure around values; the caller parses each value itself,
// with JSON.parse, which checks the rest. Only one value is held at a time, and a file is read
// several times faster than by a token-level streaming parser (npm run bench:geojson-load).

/** A member of the object (its whole value), or one element of the streamed array member (`element`). */
export interface JsonPiece { key: string; value: Buffer; element: boolean }

export class JsonSyntaxError extends Error {}

const enum Byte { Tab = 9, Lf = 10, Cr = 13, Space = 32, Quote = 34, Comma = 44, Colon = 58, OpenArray = 91, Backslash = 92, CloseArray = 93, OpenObject = 123, CloseObject = 125 }

/** Where the scanner is in `{ "key": value, … }` and in the streamed array. */
const enum At { Start, KeyOrEnd, Key, Colon, Value, MemberEnd, ElementOrEnd, Element, ElementEnd, Done }

const UTF8_BOM = [0xef, 0xbb, 0xbf];
const isSpace = (c: number) => c === Byte.Space || c === Byte.Lf || c === Byte.Cr || c === Byte.Tab;
/** Whether `c` (not a space) may open a value: any byte but the structure's own (JSON.parse checks the rest). */
const mayStartValue = (c: number) => c !== Byte.Comma && c !== Byte.CloseObject && c !== Byte.CloseArray && c !== Byte.Colon;

/** A value being captured: its bytes so far, and where its scan stands. */
class Capture {
  parts: Buffer[] = [];
  depth = 0;
  inString = false;
  escaped = false;
  /** A number, true, false or null: it ends at the first byte that cannot be part of it. */
  bare = false;

  /** Scans `chunk` from `i`; returns the index just past the value's end, or -1 when it goes on. */
  scan(chunk: Buffer, i: number): number {
    const from = i;
    // Locals in the loop, which runs once per byte of the file.
    let { depth, inString, escaped, bare } = this;
    for (; i < chunk.length; i++) {
      const c = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === Byte.Backslash) escaped = true;
        else if (c === Byte.Quote) {
          inString = false;
          if (depth === 0) return this.end(chunk, from, i + 1);
        }
      } else if (bare) {
        if (isSpace(c) || c === Byte.Comma || c === Byte.CloseObject || c === Byte.CloseArray) return this.end(chunk, from, i);
      } else if (c === Byte.Quote) inString = true;
      else if (c === Byte.OpenObject || c === Byte.OpenArray) depth++;
      else if (c === Byte.CloseObject || c === Byte.CloseArray) {
        if (--depth === 0) return this.end(chunk, from, i + 1);
      } else if (depth === 0 && !isSpace(c)) bare = true;
    }
    Object.assign(this, { depth, inString, escaped, bare });
    this.parts.push(chunk.subarray(from));
    return -1;
  }

  private end(chunk: Buffer, from: number, to: number): number {
    this.parts.push(chunk.subarray(from, to));
    return to;
  }

  bytes(): Buffer {
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
  }
}

/**
 * The members of the JSON object in `chunks`, in order; the member named `streamed`, when it is an
 * array, comes element by element (`element: true`). Throws JsonSyntaxError where the structure
 * around the values is wrong (values themselves are checked by whoever parses them).
 */
export async function* jsonMembers(chunks: AsyncIterable<Buffer>, streamed: string): AsyncGenerator<JsonPiece> {
  let at = At.Start, key = '', offset = 0;
  let capture: Capture | undefined;
  const fail = (what: string, position: number): never => { throw new JsonSyntaxError(`${what} at byte ${position}`); };
  for await (const chunk of chunks) {
    let i = 0;
    while (i < chunk.length) {
      if (capture) {
        const end = capture.scan(chunk, i);
        if (end < 0) break;
        i = end;
        const value = capture.bytes();
        capture = undefined;
        if (at === At.Key) { key = parseKey(value, offset + i); at = At.Colon; continue; }
        if (at === At.Element) { yield { key, value, element: true }; at = At.ElementEnd; continue; }
        yield { key, value, element: false };
        at = At.MemberEnd;
        continue;
      }
      const c = chunk[i];
      if (isSpace(c)) { i++; continue; }
      switch (at) {
        case At.Start:
          // A UTF-8 byte order mark may open the file.
          if (offset + i < UTF8_BOM.length && c === UTF8_BOM[offset + i]) break;
          if (c !== Byte.OpenObject) fail('expected a JSON object', offset + i);
          at = At.KeyOrEnd;
          break;
        case At.KeyOrEnd:
        case At.Key:
          if (c === Byte.CloseObject && at === At.KeyOrEnd) { at = At.Done; break; }
          if (c !== Byte.Quote) fail('expected a member name', offset + i);
          at = At.Key;
          capture = new Capture();
          continue;
        case At.Colon:
          if (c !== Byte.Colon) fail('expected ":"', offset + i);
          at = At.Value;
          break;
        case At.Value:
          if (key === streamed && c === Byte.OpenArray) { at = At.ElementOrEnd; break; }
          if (!mayStartValue(c)) fail('expected a value', offset + i);
          capture = new Capture();
          continue;
        case At.ElementOrEnd:
        case At.Element:
          if (c === Byte.CloseArray && at === At.ElementOrEnd) { at = At.MemberEnd; break; }
          if (!mayStartValue(c)) fail('expected a value', offset + i);
          at = At.Element;
          capture = new Capture();
          continue;
        case At.ElementEnd:
          if (c === Byte.Comma) at = At.Element;
          else if (c === Byte.CloseArray) at = At.MemberEnd;
          else fail('expected "," or "]"', offset + i);
          break;
        case At.MemberEnd:
          if (c === Byte.Comma) at = At.Key;
          else if (c === Byte.CloseObject) at = At.Done;
          else fail('expected "," or "}"', offset + i);
          break;
        case At.Done:
          fail('unexpected data after the object', offset + i);
      }
      i++;
    }
    offset += chunk.length;
  }
  if (at !== At.Done) throw new JsonSyntaxError(`unexpected end of the input at byte ${offset}`);
}

function parseKey(bytes: Buffer, position: number): string {
  try {
    return JSON.parse(bytes.toString('utf8')) as string;
  } catch {
    throw new JsonSyntaxError(`bad member name at byte ${position}`);
  }
}
