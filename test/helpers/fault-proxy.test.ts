import { createHash } from 'node:crypto';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

// The fault proxy is what the resilience tests trust to break connections the
// way a network does; these tests pin that it does exactly what it promises.

let http: Server;
let httpPort: number;
const seen: string[] = [];

beforeAll(async () => {
  http = createHttpServer((req, res) => {
    const hash = createHash('sha256');
    let size = 0;
    req.on('data', (d: Buffer) => { hash.update(d); size += d.length; });
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${size}`);
      res.end(JSON.stringify({ size, sha256: hash.digest('hex') }));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpPort = (http.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

function send(port: number, method: string, path: string, body?: Buffer, chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, method, path, agent: false,
      headers: body && !chunked ? { 'content-length': String(body.length) } : {},
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body && chunked) { req.write(body.subarray(0, 1000)); req.write(body.subarray(1000)); }
    req.end(body && !chunked ? body : undefined);
  });
}

describe('the fault-injection proxy', () => {
  let proxy: FaultProxy;
  beforeAll(async () => { proxy = await startFaultProxy({ host: '127.0.0.1', port: httpPort }); });
  afterAll(async () => { await proxy.close(); });

  it('forwards requests and bodies unchanged when no fault is armed', async () => {
    const body = Buffer.alloc(300_000, 7);
    const answer = await send(proxy.port, 'PUT', '/a', body);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  });

  it('answers the next K matching requests with the status and Retry-After, without forwarding them', async () => {
    seen.length = 0;
    proxy.failHttp(2, 429, { retryAfter: 3, match: (method) => method === 'PUT' });
    const get = await send(proxy.port, 'GET', '/passes');
    const first = await send(proxy.port, 'PUT', '/one', Buffer.alloc(5000, 1));
    const second = await send(proxy.port, 'PUT', '/two', Buffer.alloc(5000, 1), true);
    const third = await send(proxy.port, 'PUT', '/three', Buffer.alloc(10, 1));
    expect([get.status, first.status, second.status, third.status]).toEqual([200, 429, 429, 200]);
    expect(first.headers['retry-after']).toBe('3');
    expect(seen).toEqual(['GET /passes 0', 'PUT /three 10']);
  });

  it('resets the connection once N bytes have gone upstream, having forwarded exactly N', async () => {
    seen.length = 0;
    const before = proxy.stats.bytesUp;
    proxy.dropAfter(1000);
    await expect(send(proxy.port, 'PUT', '/cut', Buffer.alloc(200_000, 2))).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(proxy.stats.bytesUp - before).toBe(1000);
    const after = await send(proxy.port, 'PUT', '/whole', Buffer.alloc(200_000, 2));
    expect(after.status).toBe(200);
  });

  it('refuses connections during an outage and forwards again after heal()', async () => {
    await proxy.refuse();
    await expect(send(proxy.port, 'GET', '/down')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await proxy.heal();
    expect((await send(proxy.port, 'GET', '/up')).status).toBe(200);
  });
});

describe('the fault-injection proxy on a protocol that is not HTTP', () => {
  it('passes the bytes through untouched and can still cut the stream', async () => {
    const echo = createServer((s) => { s.on('error', () => {}); s.pipe(s); });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: (echo.address() as AddressInfo).port });
    try {
      const roundTrip = (payload: Buffer) => new Promise<Buffer>((resolve, reject) => {
        const socket = connect(proxy.port, '127.0.0.1');
        const parts: Buffer[] = [];
        let got = 0;
        socket.on('data', (d: Buffer) => { parts.push(d); got += d.length; if (got >= payload.length) socket.end(); });
        socket.on('close', () => resolve(Buffer.concat(parts)));
        socket.on('error', reject);
        socket.write(payload);
      });
      const banner = Buffer.from('SSH-2.0-OpenSSH_9.2\r\nPUT / HTTP/1.1\r\n\r\n');
      expect((await roundTrip(banner)).equals(banner)).toBe(true);
      proxy.dropAfter(10, { direction: 'down' });
      const cut = await roundTrip(Buffer.alloc(100_000, 3)).catch((err: NodeJS.ErrnoException) => err.code);
      // Either the reset is reported, or the stream ends after exactly the 10 bytes let through.
      expect(cut === 'ECONNRESET' || (Buffer.isBuffer(cut) && cut.length === 10)).toBe(true);
      expect(proxy.stats.drops).toBe(1);
    } finally {
      await proxy.close();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });
});
