// The benchmark's HTTP client: one keep-alive HTTP/1.1 connection per server, one request at a
// time, as lean as wrk's. Node's own client (http.get with an Agent) spends 0.1–0.2 ms of its own
// per request, more than a small tile costs the server, so it blurred the servers' differences.
// Every HTTP contender is measured with this client. Answers need a Content-Length (or none for
// 204/304), which every server in the bench gives.
import { connect, type Socket } from 'node:net';

export interface Answer {
  status: number;
  /** Header names lower-cased. */
  headers: Map<string, string>;
  body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');

export class HttpClient {
  private socket: Socket | null = null;
  private chunks: Buffer[] = [];
  private have = 0;
  private waiting: { ok: (a: Answer) => void; fail: (e: Error) => void } | null = null;
  /** The head of the answer being read, once it is in. */
  private head: { status: number; headers: Map<string, string>; bodyStart: number; total: number } | null = null;

  constructor(private readonly port: number, private readonly host = '127.0.0.1') {}

  /** GET `path`; rejects when the connection fails (the server not up yet, or gone). */
  get(path: string): Promise<Answer> {
    if (this.waiting) return Promise.reject(new Error('one request at a time'));
    const socket = this.socket ?? this.open();
    return new Promise((ok, fail) => {
      this.waiting = { ok, fail };
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.host}\r\nAccept-Encoding: identity\r\n\r\n`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private open(): Socket {
    const socket = connect(this.port, this.host);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.received(chunk));
    const lost = (err?: Error) => {
      if (this.socket === socket) this.socket = null;
      this.chunks = [];
      this.have = 0;
      this.head = null;
      const w = this.waiting;
      this.waiting = null;
      w?.fail(err ?? new Error('connection closed'));
    };
    socket.on('error', lost);
    socket.on('close', () => lost());
    this.socket = socket;
    return socket;
  }

  /** Gathers chunks until the head and Content-Length bytes are in (joined once), then answers. */
  private received(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (!this.head) {
      const data = this.joined();
      const end = data.indexOf(HEAD_END);
      if (end < 0) return;
      const lines = data.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      if (headers.has('transfer-encoding')) {
        this.socket?.destroy(new Error('chunked answers are not read by the bench client'));
        return;
      }
      const bodyStart = end + HEAD_END.length;
      this.head = { status: Number(lines[0].slice(9, 12)), headers, bodyStart, total: bodyStart + Number(headers.get('content-length') ?? 0) };
    }
    const { status, headers, bodyStart, total } = this.head;
    if (this.have < total) return;
    const data = this.joined();
    const body = Buffer.from(data.subarray(bodyStart, total));
    this.chunks = total < this.have ? [data.subarray(total)] : [];
    this.have -= total;
    this.head = null;
    const w = this.waiting;
    this.waiting = null;
    w?.ok({ status, headers, body });
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.have)];
    return this.chunks[0];
  }
}
