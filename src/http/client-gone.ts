// A signal that aborts when the client of a response goes away before its answer is written
// (a map client cancels the tiles that panned out of view). Work queued or running for such a
// client need not be done, nor a database query finished: see RunOptions.signal in pool/pool.ts,
// TileCache.get and Lease in store/postgis/connections.ts.
import type { ServerResponse } from 'node:http';
import { ApiError } from './errors.js';

/** nginx's status for a request whose client closed the connection first; never reaches the client. */
export const clientClosed = () => new ApiError(499, 'CLIENT_CLOSED_REQUEST', 'The client closed the connection before the answer.');

export function clientGone(res: ServerResponse): AbortSignal {
  const gone = new AbortController();
  if (res.destroyed) gone.abort(clientClosed());
  else res.once('close', () => { if (!res.writableFinished) gone.abort(clientClosed()); });
  return gone.signal;
}
