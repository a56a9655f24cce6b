import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutBody, StorageAdapter } from '../../src/storage/adapter.js';
import { bufferBody, streamBody } from '../../src/storage/body.js';
import { isStorageError } from '../../src/storage/errors.js';

export interface ConformanceTarget {
  adapter: StorageAdapter;
  /** Stops servers and removes temporary data. */
  cleanup?(): Promise<void>;
}

/** Reads a stream fully. Only for the small objects the suite stores. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** A one-shot body that yields `data` in `chunk`-sized pieces, then fails if `failAfter` is set. */
function chunkedBody(data: Buffer, chunk: number, failAfter?: number): PutBody {
  async function* gen() {
    for (let off = 0; off < data.length; off += chunk) {
      if (failAfter !== undefined && off >= failAfter) throw new Error('source failed mid-stream');
      yield data.subarray(off, off + chunk);
      await new Promise((r) => setImmediate(r));
    }
  }
  return streamBody(Readable.from(gen()), data.length);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The contract every StorageAdapter must meet. Each adapter's test file calls
 * this once with a factory that returns a fresh, empty target.
 */
export function testAdapterConformance(label: string, setup: () => Promise<ConformanceTarget>): void {
  describe(`${label}: storage adapter conformance`, () => {
    let target: ConformanceTarget;
    let a: StorageAdapter;
    const key = (n: string) => `conf-${n}-${randomBytes(3).toString('hex')}.bin`;

    beforeAll(async () => {
      target = await setup();
      a = target.adapter;
    }, 120_000);
    afterAll(async () => {
      await a?.close?.();
      await target?.cleanup?.();
    }, 60_000);

    it('stores a buffer and reads the same bytes back, with stat and list agreeing on the size', async () => {
      const k = key('buf');
      const data = randomBytes(10_000);
      expect(await a.put(k, bufferBody(data))).toBe(data.length);
      expect(sha(await readAll(await a.get(k)))).toBe(sha(data));
      expect((await a.stat(k)).size).toBe(data.length);
      const listed = (await a.list('conf-buf-')).find((o) => o.key === k);
      expect(listed?.size).toBe(data.length);
    });

    it('stores a live stream of unknown length (several MiB) byte for byte', async () => {
      const k = key('stream');
      const data = randomBytes(6 * 1024 * 1024 + 123);
      const put = await a.put(k, chunkedBody(data, 64 * 1024));
      expect(put).toBe(data.length);
      expect(sha(await readAll(await a.get(k)))).toBe(sha(data));
    });

    it('a put never replaces an existing object', async () => {
      const k = key('exclusive');
      await a.put(k, bufferBody('first version'));
      const err = await a.put(k, bufferBody('second')).catch((e: unknown) => e);
      expect(err).toSatisfy((e) => isStorageError(e, 'EXISTS'));
      expect((err as Error).message).toContain(a.name);
      expect((err as Error).message).toContain(k);
      const big = await a.put(k, chunkedBody(randomBytes(6 * 1024 * 1024), 256 * 1024)).catch((e: unknown) => e);
      expect(big).toSatisfy((e) => isStorageError(e, 'EXISTS'));
      expect((await readAll(await a.get(k))).toString()).toBe('first version');
      expect((await a.list('conf-exclusive-')).filter((o) => o.key === k)).toHaveLength(1);
    });

    it('reports a missing object as NOT_FOUND on get and stat', async () => {
      const k = key('missing');
      await expect(a.get(k)).rejects.toSatisfy((e) => isStorageError(e, 'NOT_FOUND'));
      await expect(a.stat(k)).rejects.toSatisfy((e) => isStorageError(e, 'NOT_FOUND'));
    });

    it('removes objects, and removing a missing object is not an error', async () => {
      const k = key('remove');
      await a.put(k, bufferBody('bye'));
      await a.remove(k);
      await expect(a.stat(k)).rejects.toSatisfy((e) => isStorageError(e, 'NOT_FOUND'));
      await a.remove(k);
      await a.remove(key('never-existed'));
      expect((await a.list('conf-remove-')).map((o) => o.key)).not.toContain(k);
    });

    it('lists only keys with the given prefix', async () => {
      const p = `conf-prefix-${randomBytes(3).toString('hex')}-`;
      await a.put(`${p}a`, bufferBody('a'));
      await a.put(`${p}b`, bufferBody('bb'));
      await a.put(`other-${p}c`, bufferBody('c'));
      const keys = (await a.list(p)).map((o) => o.key).sort();
      expect(keys).toEqual([`${p}a`, `${p}b`]);
      expect(await a.list(`conf-nothing-${randomBytes(4).toString('hex')}`)).toEqual([]);
    });

    it('an aborted put rejects and leaves nothing that lists', async () => {
      const p = `conf-abort-${randomBytes(3).toString('hex')}-`;
      const before = (await a.list('')).map((o) => o.key);
      const ctrl = new AbortController();
      const data = randomBytes(8 * 1024 * 1024);
      setTimeout(() => ctrl.abort(new Error('test abort')), 30);
      const slow = async function* () {
        for (let off = 0; off < data.length; off += 64 * 1024) {
          yield data.subarray(off, off + 64 * 1024);
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      await expect(a.put(`${p}x`, streamBody(Readable.from(slow()), data.length), { signal: ctrl.signal })).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 200));
      const after = (await a.list('')).map((o) => o.key);
      expect(after.filter((k) => !before.includes(k))).toEqual([]);
      await expect(a.stat(`${p}x`)).rejects.toSatisfy((e) => isStorageError(e, 'NOT_FOUND'));
    });

    it('a put whose source fails mid-stream rejects and leaves nothing that lists', async () => {
      const k = key('fail');
      const before = (await a.list('')).map((o) => o.key);
      await expect(a.put(k, chunkedBody(randomBytes(6 * 1024 * 1024), 256 * 1024, 3 * 1024 * 1024))).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 200));
      const after = (await a.list('')).map((o) => o.key);
      expect(after.filter((x) => !before.includes(x))).toEqual([]);
    });

    it('concurrent puts of different keys all land intact', async () => {
      const p = `conf-conc-${randomBytes(3).toString('hex')}-`;
      const items = Array.from({ length: 6 }, (_, i) => ({ k: `${p}${i}`, data: randomBytes(200_000 + i) }));
      await Promise.all(items.map((it) => a.put(it.k, bufferBody(it.data))));
      for (const it of items) expect(sha(await readAll(await a.get(it.k)))).toBe(sha(it.data));
      expect((await a.list(p)).length).toBe(items.length);
    });
  });
}
