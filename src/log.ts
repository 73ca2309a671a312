// Structured logs: one JSON object per line (pino), to stdout. Lines are gathered in a buffer and
// written in batches (at 4 KB, or every 200 ms when quieter, and at exit): a write per line was a
// system call per request, as dear as answering a cached tile.
import pino, { type Logger } from 'pino';

const BATCH_BYTES = 4096;
const FLUSH_MS = 200;

export function createLogger(level = 'info'): Logger {
  const destination = pino.destination({ dest: 1, minLength: BATCH_BYTES, sync: false });
  setInterval(() => destination.flush(), FLUSH_MS).unref();
  process.once('exit', () => destination.flushSync());
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
