// Requests through node:http when a test must know the connection: a fresh one per request
// (`agent: false`) or one kept-alive socket, and the exact bytes the client wrote.
import { Agent, request } from 'node:http';

export interface RawResponse {
  status: number;
  body: Buffer;
  /** Bytes the client wrote on its socket for this request (request line, headers, body). */
  written: number;
}

export function rawRequest(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; agent?: Agent | false } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), written: req.socket!.bytesWritten - writtenBefore }));
      res.on('error', reject);
    });
    let writtenBefore = 0;
    req.on('socket', (s) => { writtenBefore = s.bytesWritten; });
    req.on('error', reject);
    req.end(opts.body);
  });
}
