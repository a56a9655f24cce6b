import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy that injects the faults a real network has, between
 * Ferry and a test server: connections reset after a number of bytes, HTTP
 * requests answered 503/429 without reaching the server, and outages during
 * which connections are refused. It forwards bytes unchanged otherwise, so it
 * works for HTTP (S3, the Drive emulator) and SSH alike.
 */
export interface FaultProxy {
  /** The loopback port to point the client at. */
  readonly port: number;
  /**
   * Resets a connection (RST on both sides) once `bytes` more bytes have
   * passed in `direction` ('up' = client to server, the default), counted
   * across all connections from this call. With `times`, it re-arms after each
   * reset until it has reset that many connections.
   */
  dropAfter(bytes: number, options?: { times?: number; direction?: 'up' | 'down' }): void;
  /**
   * Answers the next `count` HTTP/1.1 requests that `match` with `status`
   * (and `Retry-After` when given). The request is read and discarded, never
   * forwarded, and the connection is closed after the answer.
   */
  failHttp(count: number, status: number, options?: FailHttpOptions): void;
  /** An outage: the port stops listening (connections are refused) and live connections are reset, until `heal()`. */
  refuse(): Promise<void>;
  /** Ends an outage and cancels pending `dropAfter`/`failHttp` faults. */
  heal(): Promise<void>;
  readonly stats: FaultProxyStats;
  /** Stops listening and resets every live connection. Safe to call twice. */
  close(): Promise<void>;
}

export interface FailHttpOptions {
  /** Seconds, sent as the `Retry-After` header. */
  retryAfter?: number;
  /** Which requests count; all of them when absent. */
  match?: (method: string, path: string) => boolean;
  /** Extra response headers, e.g. `content-type`. */
  headers?: Record<string, string>;
  /** Response body; empty when absent. */
  body?: string;
}

export interface FaultProxyStats {
  connections: number;
  /** Connections reset by `dropAfter`. */
  drops: number;
  /** Requests answered by `failHttp`. */
  httpFailures: number;
  /** Live connections reset by `refuse()`. */
  refused: number;
  bytesUp: number;
  bytesDown: number;
}

interface PendingDrop { left: number; times: number; bytes: number; direction: 'up' | 'down' }
interface PendingFail { count: number; status: number; options: FailHttpOptions }

const HEADER_LIMIT = 64 * 1024;

export async function startFaultProxy(upstream: { host: string; port: number }): Promise<FaultProxy> {
  const live = new Set<{ client: Socket; server: Socket }>();
  const stats: FaultProxyStats = { connections: 0, drops: 0, httpFailures: 0, refused: 0, bytesUp: 0, bytesDown: 0 };
  let drop: PendingDrop | undefined;
  let fail: PendingFail | undefined;
  let listener: Server | undefined;
  let port = 0;

  /** Bytes of `chunk` that may pass before the armed drop fires, or undefined when none fires in it. */
  function dropPoint(direction: 'up' | 'down', length: number): number | undefined {
    if (!drop || drop.direction !== direction) return undefined;
    if (length < drop.left) { drop.left -= length; return undefined; }
    const passing = drop.left;
    drop.times -= 1;
    drop = drop.times > 0 ? { ...drop, left: drop.bytes } : undefined;
    return passing;
  }

  /** Decides, when a request's headers are complete, whether this request is answered with a fault. */
  function takeFailure(method: string, path: string): PendingFail | undefined {
    if (!fail || fail.count <= 0 || !(fail.options.match?.(method, path) ?? true)) return undefined;
    const taken = fail;
    fail = fail.count > 1 ? { ...fail, count: fail.count - 1 } : undefined;
    return taken;
  }

  function reset(pair: { client: Socket; server: Socket }): void {
    live.delete(pair);
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    if (!pair.server.destroyed) pair.server.resetAndDestroy();
  }

  function onConnection(client: Socket): void {
    stats.connections += 1;
    const server = connect(upstream.port, upstream.host);
    const pair = { client, server };
    live.add(pair);
    const http = new HttpRequests();
    client.on('error', () => reset(pair));
    server.on('error', () => reset(pair));
    client.on('close', () => { live.delete(pair); server.destroy(); });
    server.on('close', () => { live.delete(pair); client.destroy(); });

    const forward = (from: Socket, to: Socket, direction: 'up' | 'down', chunk: Buffer): void => {
      const cut = dropPoint(direction, chunk.length);
      const passing = cut === undefined ? chunk : chunk.subarray(0, cut);
      if (direction === 'up') stats.bytesUp += passing.length; else stats.bytesDown += passing.length;
      if (cut !== undefined) {
        // The cut bytes reach the kernel before the reset, so the peer sees exactly `bytes`.
        stats.drops += 1;
        live.delete(pair);
        from.pause();
        if (passing.length > 0) to.write(passing, () => reset(pair));
        else reset(pair);
        return;
      }
      if (passing.length > 0 && !to.write(passing)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    };

    client.on('data', (chunk: Buffer) => {
      const { out, answer: failure } = http.feed(chunk, takeFailure);
      for (const part of out) {
        forward(client, server, 'up', part);
        if (!live.has(pair)) return;
      }
      if (failure) {
        live.delete(pair);
        server.destroy();
        answer(client, failure);
        stats.httpFailures += 1;
      }
    });
    server.on('data', (chunk: Buffer) => forward(server, client, 'down', chunk));
  }

  async function listen(onPort: number): Promise<void> {
    const srv = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(onPort, '127.0.0.1', () => resolve());
    });
    listener = srv;
    port = (srv.address() as { port: number }).port;
  }

  async function stopListening(): Promise<void> {
    const srv = listener;
    listener = undefined;
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  }

  await listen(0);

  return {
    get port() { return port; },
    stats,
    dropAfter(bytes, options = {}) {
      if (!(bytes >= 0)) throw new Error(`dropAfter: bytes must be >= 0, got ${bytes}`);
      const times = options.times ?? 1;
      drop = { left: bytes, bytes, times, direction: options.direction ?? 'up' };
    },
    failHttp(count, status, options = {}) {
      fail = { count, status, options };
    },
    async refuse() {
      await Promise.all([stopListening(), ...[...live].map(async (pair) => { stats.refused += 1; reset(pair); })]);
    },
    async heal() {
      drop = undefined;
      fail = undefined;
      if (!listener) await listen(port);
    },
    async close() {
      for (const pair of [...live]) reset(pair);
      await stopListening();
    },
  };
}

function answer(client: Socket, fail: PendingFail): void {
  const body = Buffer.from(fail.options.body ?? '');
  const headers: Record<string, string> = {
    'content-length': String(body.length),
    connection: 'close',
    ...(fail.options.retryAfter !== undefined ? { 'retry-after': String(fail.options.retryAfter) } : {}),
    ...fail.options.headers,
  };
  const head = [`HTTP/1.1 ${fail.status} Injected fault`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  client.end(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), body]));
}

/**
 * Tracks HTTP/1.1 request boundaries in the client-to-server byte stream, so
 * that a fault can replace one whole request. A request's header is held back
 * until it is complete, then forwarded or, when it is to fail, discarded with
 * its body. A stream that does not start like an HTTP request (SSH, say) is
 * passed through untouched.
 */
class HttpRequests {
  private mode: 'start' | 'body' | 'raw' | 'discard' = 'start';
  private head = Buffer.alloc(0);
  private body = new BodyReader(0);
  private failure: PendingFail | undefined;

  feed(chunk: Buffer, takeFailure: (method: string, path: string) => PendingFail | undefined): { out: Buffer[]; answer?: PendingFail } {
    const out: Buffer[] = [];
    let rest = chunk;
    while (rest.length > 0) {
      if (this.mode === 'raw') { out.push(rest); break; }
      if (this.mode === 'discard') break;
      if (this.mode === 'start') {
        this.head = Buffer.concat([this.head, rest]);
        rest = Buffer.alloc(0);
        const prefix = this.head.subarray(0, 8).toString('latin1');
        const couldBeHttp = /^[A-Z]{1,7} /.test(prefix) || /^[A-Z]{0,7}$/.test(prefix);
        const end = this.head.indexOf('\r\n\r\n');
        if (!couldBeHttp || (end < 0 && this.head.length > HEADER_LIMIT)) {
          this.mode = 'raw';
          out.push(this.head);
          break;
        }
        if (end < 0) break;
        const headerBytes = this.head.subarray(0, end + 4);
        rest = this.head.subarray(end + 4);
        this.head = Buffer.alloc(0);
        const [requestLine = '', ...lines] = headerBytes.toString('latin1').split('\r\n');
        const [method = '', path = ''] = requestLine.split(' ');
        const header = (name: string) => lines.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? '';
        this.body = new BodyReader(/chunked/i.test(header('transfer-encoding')) ? 'chunked' : Number(header('content-length') || 0));
        this.failure = takeFailure(method, path);
        if (this.failure) {
          // A client waiting for 100-continue sends no body: answer at once.
          if (/100-continue/i.test(header('expect'))) this.body = new BodyReader(0);
        } else {
          out.push(headerBytes);
        }
        this.mode = 'body';
      } else {
        const n = this.body.consume(rest);
        if (!this.failure) out.push(rest.subarray(0, n));
        rest = rest.subarray(n);
      }
      if (this.mode === 'body' && this.body.done) {
        if (this.failure) { this.mode = 'discard'; return { out, answer: this.failure }; }
        this.mode = 'start';
      }
    }
    return { out };
  }
}

/** Consumes one request body, by Content-Length or chunked transfer coding. */
class BodyReader {
  private left: number;
  private line = '';
  private state: 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';
  constructor(private readonly framing: number | 'chunked') {
    this.left = framing === 'chunked' ? 0 : framing;
    this.state = framing === 'chunked' ? 'size' : this.left > 0 ? 'data' : 'done';
  }

  get done(): boolean { return this.state === 'done'; }

  /** Returns how many bytes of `buf` belong to this body. */
  consume(buf: Buffer): number {
    let i = 0;
    while (i < buf.length && this.state !== 'done') {
      if (this.state === 'data') {
        const take = Math.min(this.left, buf.length - i);
        i += take;
        this.left -= take;
        if (this.left === 0) this.state = this.framing === 'chunked' ? 'data-crlf' : 'done';
        continue;
      }
      const ch = String.fromCharCode(buf[i]!);
      i += 1;
      this.line += ch;
      if (!this.line.endsWith('\r\n')) continue;
      const text = this.line.slice(0, -2);
      this.line = '';
      if (this.state === 'size') {
        this.left = Number.parseInt(text.split(';')[0]!, 16);
        this.state = this.left > 0 ? 'data' : 'trailer';
      } else if (this.state === 'data-crlf') {
        this.state = 'size';
      } else if (this.state === 'trailer' && text === '') {
        this.state = 'done';
      }
    }
    return i;
  }
}
