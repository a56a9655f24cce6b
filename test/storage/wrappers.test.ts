import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalAdapter } from '../../adapters/local/adapter.js';
import { silentLogger } from '../../src/log.js';
import type { PutBody } from '../../src/storage/adapter.js';
import { bufferBody, streamBody } from '../../src/storage/body.js';
import { fromSystemError, StorageError } from '../../src/storage/errors.js';
import { fromSftpError } from '../../adapters/sftp/errors.js';
import { fromS3Error } from '../../adapters/s3/errors.js';
import { describeFailure, toStorageError } from '../../adapters/gdrive/errors.js';
import { DryRunAdapter } from '../../src/storage/wrappers/dry-run.js';
import { LimitAdapter } from '../../src/storage/wrappers/limit.js';
import { RetryAdapter } from '../../src/storage/wrappers/retry.js';
import { tee } from '../../src/util/tee.js';

/** A local adapter whose first `failures` puts fail with the given error. */
class Flaky extends LocalAdapter {
  calls = 0;
  constructor(root: string, private failures: number, private readonly error: StorageError) { super('flaky', root); }
  override async put(key: string, body: PutBody) {
    this.calls++;
    if (this.failures-- > 0) throw this.error;
    return super.put(key, body);
  }
}

describe('storage wrappers', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-wrap-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('retry repeats a retryable failure of a replayable body, with backoff', async () => {
    const inner = new Flaky(dir, 2, new StorageError('UNAVAILABLE', 'flaky', 'connection reset'));
    const retried: number[] = [];
    const a = new RetryAdapter(inner, { retries: 3, baseDelayMs: 1, onRetry: (_w, n) => retried.push(n) });
    await a.put('x', bufferBody('data'));
    expect(inner.calls).toBe(3);
    expect(retried).toEqual([1, 2]);
  });

  it('retry never repeats a permanent error, nor a live stream that cannot be read twice', async () => {
    const auth = new Flaky(dir, 1, new StorageError('AUTH', 'flaky', 'denied'));
    await expect(new RetryAdapter(auth, { retries: 3, baseDelayMs: 1 }).put('x', bufferBody('d'))).rejects.toThrow(/denied/);
    expect(auth.calls).toBe(1);
    const live = new Flaky(dir, 1, new StorageError('UNAVAILABLE', 'flaky', 'reset'));
    await expect(new RetryAdapter(live, { retries: 3, baseDelayMs: 1 }).put('y', streamBody(Readable.from(['d'])))).rejects.toThrow(/reset/);
    expect(live.calls).toBe(1);
  });

  it('limit caps the calls in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    class Slow extends LocalAdapter {
      override async stat(key: string) {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        return { key, size: 0, modified: new Date() };
      }
    }
    const a = new LimitAdapter(new Slow('slow', dir), 2);
    await Promise.all(Array.from({ length: 6 }, (_, i) => a.stat(`k${i}`)));
    expect(peak).toBe(2);
  });

  it('a download holds its concurrency slot until its stream has been read to the end', async () => {
    const local = new LocalAdapter('local', dir);
    await local.put('a', bufferBody(Buffer.alloc(3 * 1024 * 1024, 1)));
    await local.put('b', bufferBody('b'));
    let first: Readable | undefined;
    let firstEndedWhenSecondStarted: boolean | undefined;
    class Watched extends LocalAdapter {
      override async get(key: string) {
        if (key === 'b') firstEndedWhenSecondStarted = first?.readableEnded;
        return super.get(key);
      }
    }
    const a = new LimitAdapter(new Watched('local', dir), 1);
    first = await a.get('a');
    const second = a.get('b');
    let bytes = 0;
    for await (const c of first) bytes += (c as Buffer).length;
    expect(bytes).toBe(3 * 1024 * 1024);
    (await second).resume();
    expect(firstEndedWhenSecondStarted).toBe(true);
  });

  it('the same network failure is a retryable UNAVAILABLE on every adapter, however deep its cause', () => {
    const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const fetchFailed = new TypeError('fetch failed', { cause: socket });
    const refused = new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:22'), { code: 'ECONNREFUSED' })], 'connect failed');
    const wrapped = new Error('request failed', { cause: new Error('socket hang up', { cause: Object.assign(new Error('x'), { code: 'EHOSTDOWN' }) }) });
    for (const err of [fetchFailed, refused, wrapped]) {
      const converted = [
        fromSystemError('t', err, 'reading'),
        fromSftpError('t', err, 'reading'),
        fromS3Error('t', err, { what: 'reading', bucket: 'b', endpoint: 'e', redact: [] }),
        toStorageError('t', 'reading', describeFailure(err), err),
      ];
      for (const e of converted) {
        expect(e.code).toBe('UNAVAILABLE');
        expect(e.retryable).toBe(true);
      }
    }
    expect(fromSystemError('t', new Error('bad', { cause: new Error('worse') }), 'reading').code).toBe('UNKNOWN');
  });

  it('dry run reads the whole body to measure it but stores and deletes nothing', async () => {
    const local = new LocalAdapter('local', dir);
    await local.put('keep.tar.gz', bufferBody('x'));
    const a = new DryRunAdapter(local, silentLogger);
    expect(await a.put('new.tar.gz', bufferBody('12345'))).toBe(5);
    await a.remove('keep.tar.gz');
    expect(await readdir(dir)).toEqual(['keep.tar.gz']);
  });

  it('tee feeds every branch the same bytes, and a detached branch does not hold the others back', async () => {
    const source = new PassThrough();
    const t = tee(source, 2, 1024);
    const got: Buffer[] = [];
    t.branches[0]!.on('data', (c: Buffer) => got.push(c));
    t.detach(1); // never read: without detaching, backpressure would stall the source
    for (let i = 0; i < 100; i++) source.write(Buffer.alloc(512, i));
    source.end();
    await new Promise((r) => t.branches[0]!.on('end', r));
    expect(Buffer.concat(got).length).toBe(51_200);
  });
});
