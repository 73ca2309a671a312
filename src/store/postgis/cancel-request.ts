// Stopping what a connection runs on the PostgreSQL server, as psql's Ctrl-C does: a CancelRequest
// sent on a connection of its own (no login, no pool slot, so it gets through a full pool), naming
// the backend by the process id and secret key the server gave at login. pg has no public call for
// it (Client#cancel is internal and leaves its socket's errors unheard, which would crash the process).
import { connect } from 'node:net';
import type pg from 'pg';

/** The CancelRequest code, in place of a protocol version (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102;

/** A request the server has not taken by then is given up (its connection then counts as lost). */
const CANCEL_TIMEOUT_MS = 5000;

/** The server's BackendKeyData as pg keeps it, missing from its type definitions. */
interface BackendKey {
  processID: number | null;
  secretKey: number | null;
}

/**
 * Asks the server to cancel what `client`'s backend is running (a backend idle by then ignores it).
 * True once the server has closed the request's connection, which it does after signalling the
 * backend; false when that is not known (unreachable, or no answer in time).
 */
export function cancelRunning(client: pg.Client): Promise<boolean> {
  const { processID, secretKey } = client as unknown as BackendKey;
  if (processID === null || secretKey === null) return Promise.resolve(false);
  const request = Buffer.alloc(16);
  request.writeInt32BE(16, 0);
  request.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  request.writeInt32BE(processID, 8);
  request.writeInt32BE(secretKey, 12);
  return new Promise((resolve) => {
    // A host that is a folder is where the server's Unix socket is, as libpq and pg read it.
    const socket = client.host?.startsWith('/') ? connect(`${client.host}/.s.PGSQL.${client.port}`) : connect(client.port, client.host);
    socket.setTimeout(CANCEL_TIMEOUT_MS, () => socket.destroy(new Error('no answer to the cancel request')));
    socket.once('connect', () => socket.end(request));
    socket.on('error', () => {});
    socket.once('close', (failed) => resolve(!failed));
  });
}
