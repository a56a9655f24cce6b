import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutBody, StorageAdapter } from '../../src/storage/adapter.js';
import { bufferBody, fileBody, streamBody } from '../../src/storage/body.js';
import { isStorageError, type StorageError } from '../../src/storage/errors.js';
import { withContract } from '../../src/storage/wrappers/contract.js';

/**
 * A fresh, empty target for the suite, plus what the adapter can be asked to
 * do beyond the interface. An option left out skips the cases that need it.
 */
export interface ConformanceTarget {
  /** The raw adapter; the suite puts the core's contract wrapper in front of it, as `openTarget` does. */
  adapter: StorageAdapter;
  /** Stops servers and removes temporary data. */
  cleanup?(): Promise<void>;
  /** An adapter of the same type, configured with `secret`, aimed at a port nothing listens on. */
  unreachable?(): Promise<StorageAdapter> | StorageAdapter;
  /** The secret configured for `adapter` and `unreachable` (key, token, password); no error may contain it. */
  secret?: string;
  /** The target's root directory as this machine sees it, where the suite plants leftovers of killed uploads. */
  rootOnDisk?: string;
}

/** A TCP port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** Everything an error shows: message, stack and `util.inspect` (which includes `cause`). */
const everything = (err: unknown) => `${String(err)} ${(err as Error).stack} ${inspect(err, { depth: 8 })}`;

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
      a = withContract(target.adapter);
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
      // The run aborts while the adapter is reading the body: after its fourth chunk.
      const aborting = async function* () {
        for (let off = 0, n = 0; off < data.length; off += 64 * 1024, n++) {
          if (n === 4) ctrl.abort(new Error('test abort'));
          yield data.subarray(off, off + 64 * 1024);
        }
      };
      await expect(a.put(`${p}x`, streamBody(Readable.from(aborting()), data.length), { signal: ctrl.signal })).rejects.toThrow();
      const after = (await a.list('')).map((o) => o.key);
      expect(after.filter((k) => !before.includes(k))).toEqual([]);
      await expect(a.stat(`${p}x`)).rejects.toSatisfy((e) => isStorageError(e, 'NOT_FOUND'));
    });

    it('a put whose source fails mid-stream rejects and leaves nothing that lists', async () => {
      const k = key('fail');
      const before = (await a.list('')).map((o) => o.key);
      await expect(a.put(k, chunkedBody(randomBytes(6 * 1024 * 1024), 256 * 1024, 3 * 1024 * 1024))).rejects.toThrow();
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

    it('a body whose declared size is wrong (short or long) fails and leaves nothing that lists', async () => {
      const p = `conf-size-${randomBytes(3).toString('hex')}-`;
      const data = randomBytes(300_000);
      const lying = (size: number): PutBody => ({ replayable: true, size, open: () => Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]) });
      await expect(a.put(`${p}short`, lying(data.length + 1))).rejects.toSatisfy((e) => isStorageError(e, 'CORRUPT'));
      await expect(a.put(`${p}long`, lying(data.length - 1))).rejects.toSatisfy((e) => isStorageError(e, 'CORRUPT'));
      const dir = await mkdtemp(join(tmpdir(), 'ferry-conf-'));
      try {
        await writeFile(join(dir, 'f'), data);
        await expect(a.put(`${p}file`, fileBody(join(dir, 'f'), data.length + 7))).rejects.toSatisfy((e) => isStorageError(e, 'CORRUPT'));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      expect(await a.list(p)).toEqual([]);
      for (const k of ['short', 'long', 'file']) await expect(a.stat(`${p}${k}`)).rejects.toSatisfy((e) => isStorageError(e, 'NOT_FOUND'));
    });

    it('invalid keys are refused before anything is stored', async () => {
      const before = (await a.list('')).map((o) => o.key).sort();
      for (const bad of ['', '.', '..', '../escape', 'a/b', 'a\\b', 'nul\0byte', 'new\nline']) {
        await expect(a.put(bad, bufferBody('x'))).rejects.toSatisfy((e) => isStorageError(e, 'CONFIG'));
        await expect(a.get(bad)).rejects.toSatisfy((e) => isStorageError(e, 'CONFIG'));
        await expect(a.stat(bad)).rejects.toSatisfy((e) => isStorageError(e, 'CONFIG'));
        await expect(a.remove(bad)).rejects.toSatisfy((e) => isStorageError(e, 'CONFIG'));
      }
      expect((await a.list('')).map((o) => o.key).sort()).toEqual(before);
    });

    it('aborting list, get, stat and put rejects with the aborted error', async () => {
      const k = key('aborted');
      await a.put(k, bufferBody('x'));
      const ctrl = new AbortController();
      ctrl.abort(new Error('shutdown'));
      const signal = ctrl.signal;
      for (const op of [() => a.list('', { signal }), () => a.get(k, { signal }), () => a.stat(k, { signal }), () => a.put(key('never'), bufferBody('y'), { signal })]) {
        await expect(op()).rejects.toSatisfy((e) => isStorageError(e, 'ABORTED'));
      }
      expect((await a.list('conf-never-'))).toEqual([]);
      const big = key('aborted-read');
      await a.put(big, bufferBody(randomBytes(4 * 1024 * 1024)));
      const reading = new AbortController();
      const stream = await a.get(big, { signal: reading.signal });
      const read = (async () => {
        for await (const _chunk of stream) reading.abort(new Error('shutdown'));
      })();
      await expect(read).rejects.toSatisfy((e) => isStorageError(e, 'ABORTED'));
    });

    it('a push larger than the free space the target reports is refused with NO_SPACE before it starts', async () => {
      const free = await a.freeSpace?.();
      if (free === undefined) return; // the backend cannot tell; the put itself reports a full target
      const k = key('nospace');
      const err = await a.put(k, streamBody(Readable.from([Buffer.from('x')]), free + 2 ** 30)).catch((e: unknown) => e);
      expect(err).toSatisfy((e) => isStorageError(e, 'NO_SPACE'));
      expect((err as Error).message).toContain(k);
      expect(await a.list('conf-nospace-')).toEqual([]);
    });

    it('an unreachable server is a retryable UNAVAILABLE, and no error shows the configured secret', async () => {
      if (!target.unreachable) return; // a local directory has no server
      const down = withContract(await target.unreachable());
      try {
        for (const op of [() => down.list(''), () => down.stat('x'), () => down.get('x'), () => down.put('x', bufferBody(randomBytes(1024)))]) {
          const err = (await op().catch((e: unknown) => e)) as StorageError;
          expect(err).toSatisfy((e) => isStorageError(e, 'UNAVAILABLE'));
          expect(err.retryable).toBe(true);
          expect(err.message).toContain(down.name);
          if (target.secret) expect(everything(err)).not.toContain(target.secret);
        }
      } finally {
        await down.close?.();
      }
    });

    it('a partial upload left by a killed process never lists and is swept after 24 hours', async () => {
      if (!target.rootOnDisk) return; // the suite cannot plant files on this backend
      const tag = randomBytes(3).toString('hex');
      const old = join(target.rootOnDisk, `.ferry-partial-${tag}0-conf-killed.bin`);
      const young = join(target.rootOnDisk, `.ferry-partial-${tag}1-conf-killed.bin`);
      await a.put(key('sweep'), bufferBody('makes the root exist'));
      await mkdir(target.rootOnDisk, { recursive: true });
      await writeFile(old, 'half an upload');
      await writeFile(young, 'half an upload');
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      await utimes(old, twoDaysAgo, twoDaysAgo);
      expect((await a.list('')).map((o) => o.key).filter((k) => k.includes('killed'))).toEqual([]);
      await a.put(key('sweep'), bufferBody('a later push'));
      expect((await a.list('')).map((o) => o.key).filter((k) => k.includes('killed'))).toEqual([]);
      expect(existsSync(old)).toBe(false);
      expect(existsSync(young)).toBe(true);
      await rm(young, { force: true });
    });

    it('an upload in progress never lists under its name or any other', async () => {
      const k = key('inflight');
      const data = randomBytes(3 * 1024 * 1024);
      const before = (await a.list('')).map((o) => o.key);
      let seen: string[] | undefined;
      async function* body() {
        for (let off = 0; off < data.length; off += 256 * 1024) {
          yield data.subarray(off, off + 256 * 1024);
          if (off === 1024 * 1024) seen = (await a.list('')).map((o) => o.key).filter((x) => !before.includes(x));
        }
      }
      await a.put(k, streamBody(Readable.from(body()), data.length));
      expect(seen).toEqual([]);
      expect((await a.list('conf-inflight-')).map((o) => o.key)).toEqual([k]);
    });

    it('close() may be called twice', async () => {
      await a.close?.();
      await a.close?.();
    });
  });
}
