import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { S3Adapter, type S3Settings } from '../../adapters/s3/adapter.js';
import { MIN_PART_SIZE } from '../../adapters/s3/part-size.js';
import { recordingLogger } from '../helpers/log.js';
import { streamBody } from '../../src/storage/body.js';
import { isStorageError } from '../../src/storage/errors.js';
import { readAll } from '../conformance/suite.js';
import { proxiedServer } from '../helpers/proxied-server.js';
import { waitFor } from '../helpers/wait.js';

const MiB = 1024 * 1024;

/** A server to put the fault proxy in front of: where it listens, a fresh bucket on it and the keys it accepts. */
export interface FaultServer {
  port: number;
  freshBucket(): Promise<string>;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A one-shot body over `data` in 256 KiB chunks, as the archive pipeline hands it over. */
function liveBody(data: Buffer) {
  async function* gen() {
    for (let off = 0; off < data.length; off += 256 * 1024) yield data.subarray(off, off + 256 * 1024);
  }
  return streamBody(Readable.from(gen()), data.length);
}

/** Requests that carry a part of a multipart upload. */
const isPart = (method: string, path: string) => method === 'PUT' && path.includes('partNumber=');

/**
 * What a user relies on when the network between Ferry and an S3 server
 * fails mid-upload: each part is resent on its own, from memory, and the
 * object ends up byte for byte what was sent, with the log saying how often
 * the upload resumed. The SDK's own retries are off (`maxAttempts: 1`), so
 * every fault reaches the adapter's part retry.
 */
export function testS3FaultRecovery(label: string, setup: () => Promise<FaultServer>): void {
  describe(`${label}: an upload rides out network faults`, () => {
    const fx = proxiedServer(setup);

    async function adapterThroughProxy(over: Partial<S3Settings> = {}) {
      const log = recordingLogger();
      const bucket = await fx.server.freshBucket();
      const adapter = new S3Adapter('cloud', {
        bucket, prefix: 'mss/', region: 'us-east-1', endpoint: `http://127.0.0.1:${fx.proxy.port}`, forcePathStyle: true,
        credentials: fx.server.credentials, partSize: MIN_PART_SIZE, queueSize: 2, maxAttempts: 1, log, ...over,
      });
      return { adapter, log, bucket };
    }

    async function expectStored(adapter: S3Adapter, key: string, data: Buffer): Promise<void> {
      expect(sha(await readAll(await adapter.get(key)))).toBe(sha(data));
      expect((await adapter.list('')).map((o) => o.key)).toEqual([key]);
    }

    /** Puts `size` random bytes under `key` through the proxy once `arm()` has set a fault; checks the object is byte-identical. */
    async function putThroughFault(key: string, size: number, arm: () => void) {
      const { adapter, log, bucket } = await adapterThroughProxy();
      const data = randomBytes(size);
      arm();
      try {
        expect(await adapter.put(key, liveBody(data))).toBe(data.length);
        await expectStored(adapter, key, data);
        return { lines: log.lines, retries: log.lines.filter((l) => /resuming in/.test(l)), bucket };
      } finally {
        await fx.proxy.heal();
        await adapter.close();
      }
    }

    it('a part whose connection is reset mid-body is sent again on its own, and the object is byte-identical', async () => {
      const drops = fx.proxy.stats.drops;
      const { lines, retries, bucket } = await putThroughFault('mss-20260101T000000Z.tar.gz', 14 * MiB, () => fx.proxy.dropAfter(7 * MiB));
      expect(fx.proxy.stats.drops).toBe(drops + 1);
      expect(retries).toHaveLength(1);
      expect(lines).toContain(`cloud: stored s3://${bucket}/mss/mss-20260101T000000Z.tar.gz, resumed 1 time(s) after transient failures`);
    });

    it('parts answered 503 are retried until the server takes them', async () => {
      const { retries } = await putThroughFault('mss-20260102T000000Z.tar.gz', 11 * MiB, () => fx.proxy.failHttp(3, 503, { match: isPart }));
      expect(retries).toHaveLength(3);
      for (const l of retries) {
        expect(l).toMatch(/^target "cloud" \[UNAVAILABLE\]: uploading s3:\/\/.+\/mss\/mss-20260102T000000Z\.tar\.gz: part \d+: .*HTTP 503/);
      }
    });

    it('a part answered 429 with Retry-After is sent again after the pause the server asked for', async () => {
      const { retries } = await putThroughFault('mss-20260106T000000Z.tar.gz', 11 * MiB, () => fx.proxy.failHttp(1, 429, { match: isPart, retryAfter: 2 }));
      expect(retries).toHaveLength(1);
      expect(retries[0]).toMatch(/\[RATE_LIMIT\].*part \d+.*resuming in 2\.0 s/);
    });

    it('an outage during which connections are refused is ridden out, and the upload resumes when the server is back', async () => {
      const { adapter, log } = await adapterThroughProxy();
      const data = randomBytes(12 * MiB);
      let sent = 0;
      let outage: Promise<void> | undefined;
      async function* gen() {
        for (let off = 0; off < data.length; off += 256 * 1024) {
          sent += 256 * 1024;
          if (sent > 6 * MiB && !outage) outage = fx.proxy.refuse();
          yield data.subarray(off, off + 256 * 1024);
        }
      }
      try {
        const put = adapter.put('mss-20260103T000000Z.tar.gz', streamBody(Readable.from(gen()), data.length));
        await waitFor(() => log.lines.filter((l) => /ECONNREFUSED/.test(l)).length >= 3, { what: 'three refused attempts' });
        await outage;
        await fx.proxy.heal();
        expect(await put).toBe(data.length);
        await expectStored(adapter, 'mss-20260103T000000Z.tar.gz', data);
        expect(log.lines.some((l) => /resumed \d+ time\(s\)/.test(l))).toBe(true);
      } finally {
        await fx.proxy.heal();
        await adapter.close();
      }
    });

    it('when the outage outlasts the retry window the upload fails UNAVAILABLE and leaves no object', async () => {
      const { adapter } = await adapterThroughProxy({ retryWindowMs: 1500 });
      const data = randomBytes(11 * MiB);
      fx.proxy.failHttp(1_000, 503, { match: isPart });
      try {
        const err = await adapter.put('mss-20260104T000000Z.tar.gz', liveBody(data)).catch((e: unknown) => e);
        expect(err).toSatisfy((e) => isStorageError(e, 'UNAVAILABLE'));
        expect((err as Error).message).toContain('mss-20260104T000000Z.tar.gz');
        await fx.proxy.heal();
        expect(await adapter.list('')).toEqual([]);
      } finally {
        await fx.proxy.heal();
        await adapter.close();
      }
    });

    it('aborting the run while a part waits for its retry rejects at once with ABORTED', async () => {
      const { adapter, log } = await adapterThroughProxy({ retryWindowMs: 7_200_000 });
      fx.proxy.failHttp(1_000, 503, { match: isPart, retryAfter: 3600 });
      const ctrl = new AbortController();
      try {
        const put = adapter.put('mss-20260105T000000Z.tar.gz', liveBody(randomBytes(11 * MiB)), { signal: ctrl.signal });
        await waitFor(() => log.lines.some((l) => /resuming in 3600\.0 s/.test(l)), { what: 'a retry that waits an hour' });
        ctrl.abort(new Error('shutdown'));
        await expect(put).rejects.toSatisfy((e) => isStorageError(e, 'ABORTED'));
        await fx.proxy.heal();
        expect(await adapter.list('')).toEqual([]);
      } finally {
        await fx.proxy.heal();
        await adapter.close();
      }
    });
  });
}
