import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { S3Adapter } from '../../adapters/s3/adapter.js';
import { MIN_PART_SIZE } from '../../adapters/s3/part-size.js';
import { DEFAULT_RETRY_WINDOW_SECONDS, retryAfterMs, withRequestRetry } from '../../adapters/s3/request-retry.js';
import { applyPrune } from '../../src/retention/prune.js';
import { bufferBody } from '../../src/storage/body.js';
import { StorageError } from '../../src/storage/errors.js';
import { testS3FaultRecovery } from './s3-fault-cases.js';
import { createBucket, S3RVER_CREDENTIALS, startS3rver, type S3rverHandle } from '../servers/s3rver.js';

// How an s3 upload rides out the network: parts retried on their own through
// resets, 503/429 and outages, for a bounded window; a commit whose answer was
// lost; servers that cannot list or abort unfinished uploads.

let server: Promise<S3rverHandle> | undefined;
/** One s3rver for the whole file, started on first use. */
const s3rver = () => (server ??= startS3rver());
afterAll(async () => { await (await server)?.stop(); }, 30_000);

testS3FaultRecovery('s3 (s3rver)', async () => {
  const { port, endpoint } = await s3rver();
  return {
    port,
    credentials: S3RVER_CREDENTIALS,
    async freshBucket() {
      const bucket = `ferry-${randomBytes(4).toString('hex')}`;
      await createBucket(endpoint, bucket);
      return bucket;
    },
  };
});

describe('s3: prune on servers without multipart listing or abort', () => {
  it('a server that cannot list or abort unfinished uploads makes prune warn, never fail', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    let listing: 'unsupported' | 'old upload' = 'unsupported';
    const http = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const url = req.url ?? '';
        if (req.method === 'GET' && url.includes('uploads') && listing === 'unsupported') {
          res.writeHead(501, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented</Message></Error>');
        } else if (req.method === 'GET' && url.includes('uploads')) {
          res.writeHead(200, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated>'
            + '<Upload><Key>mss/mss-20260101T000000Z.tar.gz</Key><UploadId>u1</UploadId><Initiated>2026-01-01T00:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>');
        } else {
          res.writeHead(405, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>MethodNotAllowed</Code><Message>The specified method is not allowed against this resource.</Message></Error>');
        }
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const adapter = new S3Adapter('cloud', {
      bucket: 'b', prefix: 'mss/', region: 'us-east-1', endpoint: `http://127.0.0.1:${(http.address() as { port: number }).port}`, forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS, partSize: MIN_PART_SIZE, queueSize: 1, maxAttempts: 1,
    });
    const empty = { decisions: [], orphanManifests: [] };
    try {
      const unsupported = await applyPrune(adapter, 'mss', empty);
      expect(unsupported.errors).toEqual([]);
      expect(unsupported.warnings).toEqual(['the server cannot list unfinished uploads; parts left by a killed run cannot be cleaned up by Ferry']);
      listing = 'old upload';
      const refused = await applyPrune(adapter, 'mss', empty);
      expect(refused.errors).toEqual([]);
      expect(refused.abortedUploads).toEqual([]);
      expect(refused.warnings).toHaveLength(1);
      expect(refused.warnings[0]).toMatch(/^could not abort the unfinished upload of mss-20260101T000000Z\.tar\.gz .*MethodNotAllowed/);
    } finally {
      await adapter.close();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});

describe('s3: how long an upload request is retried', () => {
  it('with the default window a part keeps being retried through a 60 s outage, then gives up after the window', async () => {
    vi.useFakeTimers();
    try {
      let attempts = 0;
      const outage = new StorageError('UNAVAILABLE', 'cloud', 'cannot reach the server (ECONNREFUSED)');
      const done = withRequestRetry(async () => { attempts++; throw outage; }, {
        windowMs: DEFAULT_RETRY_WINDOW_SECONDS * 1000, signal: new AbortController().signal, convert: (e) => e as StorageError,
      }).then(() => 'resolved', (e: unknown) => e);
      await vi.advanceTimersByTimeAsync(61_000);
      const at60s = attempts;
      expect(at60s).toBeGreaterThan(5);
      await vi.advanceTimersByTimeAsync(DEFAULT_RETRY_WINDOW_SECONDS * 1000);
      expect(await done).toBe(outage);
      expect(attempts).toBeGreaterThan(at60s);
    } finally {
      vi.useRealTimers();
    }
  });

  it('Retry-After is read as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    const withHeader = (value: string) => ({ $response: { headers: { 'retry-after': value } } });
    expect(retryAfterMs(withHeader('7'), now)).toBe(7000);
    expect(retryAfterMs(withHeader('Tue, 01 Dec 2026 00:00:30 GMT'), now)).toBe(30_000);
    expect(retryAfterMs(withHeader('soon'), now)).toBeUndefined();
    expect(retryAfterMs(new Error('no response'), now)).toBeUndefined();
  });
});

describe('s3: a commit whose answer was lost', () => {
  it('a put whose first PutObject went through but whose answer was lost is not reported as EXISTS on the retry', async () => {
    const { createServer: createHttpServer } = await import('node:http');
    const { createHash } = await import('node:crypto');
    let storedEtag: string | undefined;
    const seen: string[] = [];
    const http = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        seen.push(req.method ?? '');
        if (req.method === 'HEAD') {
          if (!storedEtag) return void res.writeHead(404).end();
          return void res.writeHead(200, { etag: storedEtag, 'content-length': '4' }).end();
        }
        if (req.method === 'PUT' && !storedEtag) {
          storedEtag = `"${createHash('md5').update(Buffer.concat(chunks)).digest('hex')}"`;
          return void req.socket.destroy(); // committed, but the answer never reaches the client
        }
        res.writeHead(412, { 'content-type': 'application/xml' }).end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>');
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const adapter = new S3Adapter('cloud', {
      bucket: 'b', prefix: 'mss/', region: 'us-east-1', endpoint: `http://127.0.0.1:${(http.address() as { port: number }).port}`, forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS, partSize: MIN_PART_SIZE, queueSize: 1, maxAttempts: 1,
    });
    try {
      expect(await adapter.put('mss-20260101T000000Z.tar.gz', bufferBody('mine'))).toBe(4);
      expect(seen).toEqual(['HEAD', 'PUT', 'PUT', 'HEAD']);
    } finally {
      await adapter.close();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
