// Requests Node's HTTP parser refuses (a malformed request line or header, headers past the size
// limit, a broken chunked body) never reach Koa, and Node would answer them with a bare status and
// no body. They are answered here in the API's JSON error shape, with a code, as every other
// client mistake is; a connection that already began an answer is only closed, as Node does.
// So are CONNECT, an HTTP/1.1 request without Host and an Expect other than 100-continue, which
// Node also keeps from Koa.
import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ApiError, ngwErrorBody } from './errors.js';
import { logRequest, requestIdOf } from './middleware.js';

/** The parser's refusal as an API error, with the status Node would give it. */
function refusal(err: NodeJS.ErrnoException): ApiError {
  if (err.code === 'HPE_HEADER_OVERFLOW') return new ApiError(431, 'HEADERS_TOO_LARGE', 'The request\'s headers are larger than the server accepts.');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new ApiError(408, 'REQUEST_TIMEOUT', 'The request did not arrive in time.');
  return new ApiError(400, 'MALFORMED_REQUEST', `The request is not well-formed HTTP/1.1 (${err.code ?? 'unreadable'}).`);
}

/** Writes `error` as the whole answer on `socket`, closing it after; returns the request id given. */
function answerRaw(socket: Duplex, error: ApiError): string {
  const id = requestIdOf(undefined);
  const body = JSON.stringify(ngwErrorBody(error, id));
  socket.write(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${id}\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy();
  return id;
}

/** Answers `error` to a request Node parsed but keeps from the listener, closing the connection after. */
function answerParsed(req: IncomingMessage, res: ServerResponse, error: ApiError, log: Logger): void {
  const started = performance.now();
  const id = requestIdOf(undefined);
  const body = JSON.stringify(ngwErrorBody(error, id));
  res.writeHead(error.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'X-Request-Id': id, Connection: 'close' });
  res.end(body);
  logRequest(log, id, req.method ?? '', req.url ?? '', error.status, Buffer.byteLength(body), started);
}

/**
 * An HTTP server for `listener` whose refusals are JSON errors: Node's own Host check (a bare 400)
 * is made here instead, and the rest is in `answerClientErrors`.
 */
export function createApiServer(listener: RequestListener, log: Logger): Server {
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    // RFC 9112: a server must refuse an HTTP/1.1 request without Host (1.0 has none to send).
    if (req.httpVersion === '1.1' && req.headers.host === undefined) {
      answerParsed(req, res, new ApiError(400, 'MALFORMED_REQUEST', 'The request is not well-formed HTTP/1.1 (it has no Host header).'), log);
      return;
    }
    listener(req, res);
  });
  answerClientErrors(server, log);
  return server;
}

/**
 * `server` answers what its HTTP parser refuses as JSON errors (see above), CONNECT (which Node
 * hands to 'connect' listeners, closing the connection unanswered when there are none) as the 405
 * it is: Meridian is no proxy, and an expectation it cannot meet as 417.
 */
function answerClientErrors(server: Server, log: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Node's own rule: a response already under way on this connection must not be interleaved.
    const answering = (socket as Duplex & { _httpMessage?: { headersSent: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || answering?.headersSent) {
      socket.destroy();
      return;
    }
    const error = refusal(err);
    log.info({ id: answerRaw(socket, error), status: error.status, code: err.code }, 'request refused by the HTTP parser');
  });
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const started = performance.now();
    const id = answerRaw(socket, new ApiError(405, 'METHOD_NOT_ALLOWED', 'CONNECT is not served here: this is no proxy.'));
    logRequest(log, id, 'CONNECT', req.url ?? '', 405, 0, started);
  });
  // Only 100-continue reaches the listener; Node answers any other Expect with a bare 417 unless heard here.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    answerParsed(req, res, new ApiError(417, 'EXPECTATION_FAILED', `Expect: ${req.headers.expect} is not met here (only 100-continue is).`), log);
  });
}
