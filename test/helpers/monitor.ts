// Monitoring in tests: servers whose monitoring API anyone may read (access itself is tested
// apart), and reading counters.
import type { TestServer } from './server.js';

export const PUBLIC_MONITOR = { MERIDIAN_MONITOR_PUBLIC: '1' };
export const WRITABLE_MONITOR = { ...PUBLIC_MONITOR, MERIDIAN_MONITOR_WRITE: '1' };

/**
 * A server zone's counters once no request of it is in flight (the asking request itself, in the
 * monitor zone): counting ends on the response's 'close', which may trail the client's read by a tick.
 */
export async function settledZone(s: TestServer, zone: string): Promise<any> {
  for (let i = 0; i < 100; i++) {
    const z = (await s.json(`/monitor/1/http/server_zones/${zone}`)).body;
    if (z.processing === (zone === 'monitor' ? 1 : 0)) return z;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`zone ${zone} never settled`);
}
