import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { S3Adapter, type S3Settings } from '../../adapters/s3/adapter.js';
import s3Definition, { s3Options } from '../../adapters/s3/index.js';
import { MIN_PART_SIZE } from '../../adapters/s3/part-size.js';
import { silentLogger } from '../../src/log.js';
import type { PutBody } from '../../src/storage/adapter.js';
import { bufferBody, streamBody } from '../../src/storage/body.js';
import { isStorageError, StorageError } from '../../src/storage/errors.js';
import { closedPort, readAll, testAdapterConformance } from '../conformance/suite.js';
import { createBucket, S3RVER_CREDENTIALS, s3rverClient, startS3rver, type S3rverHandle } from '../servers/s3rver.js';

const MiB = 1024 * 1024;

let server: Promise<S3rverHandle> | undefined;
/** One s3rver for the whole file, started on first use. */
const s3rver = () => (server ??= startS3rver());
afterAll(async () => { await (await server)?.stop(); }, 30_000);

/** A fresh bucket on the shared server and an adapter for it, with small parts so multipart paths run. */
async function freshAdapter(overrides: Partial<S3Settings> = {}): Promise<{ adapter: S3Adapter; bucket: string; endpoint: string }> {
  const { endpoint } = await s3rver();
  const bucket = `ferry-${randomBytes(4).toString('hex')}`;
  await createBucket(endpoint, bucket);
  const adapter = new S3Adapter('cloud', {
    bucket, prefix: 'mss/', region: 'us-east-1', endpoint, forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS, partSize: MIN_PART_SIZE, queueSize: 2, ...overrides,
  });
  return { adapter, bucket, endpoint };
}

/** Every key in the bucket, prefix included, as the server sees it. */
async function rawKeys(endpoint: string, bucket: string): Promise<string[]> {
  const client = s3rverClient(endpoint);
  try {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (res.Contents ?? []).map((o) => o.Key ?? '');
  } finally {
    client.destroy();
  }
}

/** A one-shot body of `total` bytes that calls `onRead(bytesSoFar)` as it is consumed. */
function meteredBody(total: number, onRead: (n: number) => void): PutBody {
  const data = randomBytes(total);
  async function* gen() {
    for (let off = 0; off < total; off += 256 * 1024) {
      onRead(off);
      yield data.subarray(off, off + 256 * 1024);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  return streamBody(Readable.from(gen()), total);
}

const S3_SECRET = `very-secret-${randomBytes(8).toString('hex')}`;
testAdapterConformance('s3 (s3rver)', async () => ({
  adapter: (await freshAdapter()).adapter,
  unreachable: async () => new S3Adapter('offsite', {
    bucket: 'b', prefix: '', region: 'us-east-1', endpoint: `http://127.0.0.1:${await closedPort()}`, forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: S3_SECRET }, partSize: MIN_PART_SIZE, queueSize: 1, maxAttempts: 1, retryWindowMs: 0,
  }),
  secret: S3_SECRET,
}));

describe('s3: behaviour against s3rver', () => {
  it('lists across several ListObjectsV2 pages and strips the prefix', async () => {
    const { adapter, bucket, endpoint } = await freshAdapter({ listPageSize: 2 });
    const names = Array.from({ length: 7 }, (_, i) => `mss-2026010${i}T000000Z.tar.gz`);
    for (const n of names) await adapter.put(n, bufferBody(n));
    const client = s3rverClient(endpoint);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'mss/nested/not-mine', Body: 'x' }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'elsewhere-mss-1', Body: 'x' }));
    const firstPage = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'mss/', MaxKeys: 2 }));
    expect(firstPage.IsTruncated).toBe(true); // the server really pages, so the adapter had to follow tokens
    client.destroy();
    const listed = await adapter.list('');
    expect(listed.map((o) => o.key).sort()).toEqual(names);
    expect(listed.every((o) => o.size === names[0]!.length)).toBe(true);
    expect((await adapter.list('mss-2026010')).length).toBe(7);
    await adapter.close();
  });

  it('an upload aborted after its first part leaves no object and rejects with ABORTED', async () => {
    const { adapter, bucket, endpoint } = await freshAdapter();
    const ctrl = new AbortController();
    const body = meteredBody(14 * MiB, (n) => { if (n >= 11 * MiB) ctrl.abort(new Error('shutdown')); });
    const err = await adapter.put('mss-aborted.tar.gz', body, { signal: ctrl.signal }).catch((e: unknown) => e);
    expect(isStorageError(err, 'ABORTED')).toBe(true);
    // A rejected put has no request left in flight, so whatever it stored is there now.
    expect(await rawKeys(endpoint, bucket)).toEqual([]);
    await expect(adapter.stat('mss-aborted.tar.gz')).rejects.toSatisfy((e) => isStorageError(e, 'NOT_FOUND'));
    await adapter.close();
  });

  it('a missing bucket is a CONFIG error naming the target and the bucket', async () => {
    const { endpoint } = await s3rver();
    const adapter = new S3Adapter('cloud', {
      bucket: 'no-such-bucket', prefix: '', region: 'us-east-1', endpoint, forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS, partSize: MIN_PART_SIZE, queueSize: 1,
    });
    for (const op of [() => adapter.put('a', bufferBody('a')), () => adapter.list(''), () => adapter.probe()]) {
      const err = await op().catch((e: unknown) => e);
      expect(isStorageError(err, 'CONFIG')).toBe(true);
      expect((err as Error).message).toContain('target "cloud"');
      expect((err as Error).message).toContain('"no-such-bucket"');
    }
    await adapter.close();
  });

  it('error messages never contain the secret key', async () => {
    const { endpoint } = await s3rver();
    const secretKey = `very-secret-${randomBytes(8).toString('hex')}`;
    const settings = (over: Partial<S3Settings>): S3Settings => ({
      bucket: 'no-such-bucket', prefix: '', region: 'us-east-1', endpoint, forcePathStyle: true,
      credentials: { accessKeyId: 'UNKNOWNKEYID', secretAccessKey: secretKey }, partSize: MIN_PART_SIZE, queueSize: 1, maxAttempts: 1, ...over,
    });
    const unknownKey = new S3Adapter('cloud', settings({}));
    const authErr = await unknownKey.put('x', bufferBody('x')).catch((e: unknown) => e);
    expect(isStorageError(authErr, 'AUTH')).toBe(true);
    const knownKey = new S3Adapter('cloud', settings({ credentials: { accessKeyId: 'S3RVER', secretAccessKey: secretKey } }));
    const bucketErr = await knownKey.get('x').catch((e: unknown) => e);
    for (const err of [authErr, bucketErr]) {
      expect(err).toBeInstanceOf(StorageError);
      expect(`${String(err)} ${(err as Error).stack} ${inspect(err, { depth: 6 })}`).not.toContain(secretKey);
    }
    await Promise.all([unknownKey.close(), knownKey.close()]);
  });

  it('an aborted single-part upload is cancelled on the wire, so it cannot complete later', async () => {
    const hole = await blackHole();
    const adapter = new S3Adapter('cloud', {
      bucket: 'b', prefix: '', region: 'us-east-1', endpoint: hole.endpoint, forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS, partSize: MIN_PART_SIZE, queueSize: 1, maxAttempts: 1,
    });
    const ctrl = new AbortController();
    const put = adapter.put('small', bufferBody(randomBytes(1000)), { signal: ctrl.signal });
    const socket = await hole.firstSocket;
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    ctrl.abort();
    await expect(put).rejects.toSatisfy((e) => isStorageError(e, 'ABORTED'));
    await closed; // the held PutObject request was torn down by the client
    await adapter.close();
    hole.server.close();
  });

  it('the config definition builds a working adapter and refuses half a key pair', async () => {
    const { adapter: seed, bucket, endpoint } = await freshAdapter();
    await seed.close();
    const parse = (o: Record<string, unknown>) => z.strictObject(s3Options).parse(o);
    const ctx = { configDir: '.', log: silentLogger };
    const a = await s3Definition.create('cloud', parse({
      bucket, prefix: 'p/', endpoint, access_key_id: 'S3RVER', secret_access_key: 'S3RVER',
    }), ctx);
    await a.put('hello', bufferBody('hi'));
    expect((await readAll(await a.get('hello'))).toString()).toBe('hi');
    expect(await rawKeys(endpoint, bucket)).toEqual(['p/hello']);
    await a.close?.();
    await expect(s3Definition.create('cloud', parse({ bucket, access_key_id: 'AKIA' }), ctx))
      .rejects.toSatisfy((e) => isStorageError(e, 'CONFIG'));
  });
});

/**
 * A server that holds its first connection open without ever answering, to
 * keep a request in flight, and drops every later one at once.
 */
async function blackHole(): Promise<{ server: Server; endpoint: string; firstSocket: Promise<Socket> }> {
  let held: Socket | undefined;
  let resolveSocket!: (s: Socket) => void;
  const firstSocket = new Promise<Socket>((r) => { resolveSocket = r; });
  const server = createServer((socket) => {
    if (held) return void socket.destroy();
    held = socket;
    socket.resume();
    resolveSocket(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, firstSocket };
}

describe('s3: exclusive commit on servers with conditional writes', () => {
  it('a put sends If-None-Match: *, and when the server refuses it (the key appeared after the check) it fails with EXISTS and deletes nothing', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    const seen: { method: string; ifNoneMatch?: string }[] = [];
    const http = createHttpServer((req, res) => {
      seen.push({ method: req.method ?? '', ifNoneMatch: req.headers['if-none-match'] as string | undefined });
      req.resume();
      req.on('end', () => {
        if (req.method === 'HEAD') { res.writeHead(404).end(); return; } // not there yet: another run commits in between
        if (req.method === 'PUT') {
          res.writeHead(412, { 'content-type': 'application/xml' }).end(
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>');
          return;
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as { port: number }).port;
    const adapter = new S3Adapter('cloud', {
      bucket: 'b', prefix: 'mss/', region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS, partSize: MIN_PART_SIZE, queueSize: 1, maxAttempts: 1,
    });
    try {
      const err = (await adapter.put('mss-20260101T000000Z.tar.gz', bufferBody('mine')).catch((e: unknown) => e)) as StorageError;
      expect(isStorageError(err, 'EXISTS')).toBe(true);
      expect(err.message).toMatch(/target "cloud" \[EXISTS\]: s3:\/\/b\/mss\/mss-20260101T000000Z\.tar\.gz already exists/);
      expect(seen.find((r) => r.method === 'PUT')?.ifNoneMatch).toBe('*');
      expect(seen.map((r) => r.method)).not.toContain('DELETE');
    } finally {
      await adapter.close();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
