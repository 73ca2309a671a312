// Requests Node's HTTP parser refuses (a malformed request line or header, headers past the size
// limit, a broken chunked body) never reach Koa, and Node would answer them with a bare status and
// no body. They are answered here in the API's JSON error shape, with a code, as every other
// client mistake is; a connection that already began an answer is only closed, as Node does.
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ApiError, ngwErrorBody } from './errors.js';
import { requestIdOf } from './middleware.js';

/** The parser's refusal as an API error, with the status Node would give it. */
function refusal(err: NodeJS.ErrnoException): ApiError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return new ApiError(431, 'HEADERS_TOO_LARGE', 'The request\'s headers are larger than the server accepts.');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new ApiError(408, 'REQUEST_TIMEOUT', 'The request did not arrive in time.');
  return new ApiError(400, 'MALFORMED_REQUEST', `The request is not well-formed HTTP/1.1 (${err.code ?? 'unreadable'}).`);
}

/** `server` answers what its HTTP parser refuses as JSON errors (see above). */
export function answerClientErrors(server: Server, log: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Node's own rule: a response already under way on this connection must not be interleaved.
    const answering = (socket as Duplex & { _httpMessage?: { headersSent: boolean } })._httpMessage;
    if (err.code !== 'ECONNRESET' && socket.writable && !answering?.headersSent) {
      const error = refusal(err);
      const id = requestIdOf(undefined);
      const body = JSON.stringify(ngwErrorBody(error, id));
      socket.write(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
        + `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`);
      log.info({ id, status: error.status, code: err.code }, 'request refused by the HTTP parser');
    }
    socket.destroy();
  });
}
