// Structured logs: one JSON object per line (pino), to stdout.
import pino, { type Logger } from 'pino';

export function createLogger(level = 'info'): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
