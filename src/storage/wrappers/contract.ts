import { stat } from 'node:fs/promises';
import { PassThrough, pipeline, Transform, type Readable } from 'node:stream';
import type { ObjectInfo, OpOptions, PutBody, StorageAdapter } from '../adapter.js';
import { abortedError, fromSystemError, StorageError } from '../errors.js';
import { checkKey } from '../keys.js';
import { DelegatingAdapter } from './delegate.js';

/**
 * The rules every adapter shares, enforced once in front of it:
 * - every key passes `checkKey` (CONFIG before the backend is touched);
 * - a call whose signal is already aborted rejects with ABORTED at once, and
 *   a download stream whose signal fires fails with ABORTED;
 * - a put whose body declares `size` must deliver exactly that many bytes:
 *   more or fewer makes the body's stream fail with CORRUPT, so the adapter
 *   abandons the upload as for any failing source and nothing lists;
 * - before a put, an adapter that can report free space is asked, and a
 *   body whose `size` (or `sizeHint`) does not fit is refused with NO_SPACE.
 *   A free-space query that fails is not a reason to refuse; the put itself
 *   reports what is wrong.
 */
export class ContractAdapter extends DelegatingAdapter {
  override async put(key: string, body: PutBody, options: OpOptions = {}): Promise<number> {
    this.precheck(key, options);
    await this.checkSize(key, body);
    await this.checkFreeSpace(key, body, options);
    const checked = exactSize(this.name, key, body);
    try {
      return await this.inner.put(key, checked.body, options);
    } catch (err) {
      // Adapters wrap a failing source in their own error; the size mismatch is what the caller needs to see.
      throw checked.mismatch() ?? err;
    }
  }
  override async get(key: string, options: OpOptions = {}): Promise<Readable> {
    this.precheck(key, options);
    const stream = await this.inner.get(key, options);
    const signal = options.signal;
    if (!signal) return stream;
    // Whatever the backend does on abort, the reader sees the one ABORTED error.
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    const aborted = () => abortedError(this.name, signal, `reading ${key}`);
    const onAbort = () => out.destroy(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    stream.once('error', (err) => out.destroy(signal.aborted ? aborted() : err));
    out.once('close', () => {
      signal.removeEventListener('abort', onAbort);
      stream.destroy();
    });
    stream.pipe(out);
    return out;
  }
  override async stat(key: string, options: OpOptions = {}): Promise<ObjectInfo> {
    this.precheck(key, options);
    return this.inner.stat(key, options);
  }
  override async list(prefix: string, options: OpOptions = {}): Promise<ObjectInfo[]> {
    if (options.signal?.aborted) throw abortedError(this.name, options.signal);
    return this.inner.list(prefix, options);
  }
  override async remove(key: string, options: OpOptions = {}): Promise<void> {
    this.precheck(key, options);
    return this.inner.remove(key, options);
  }
  override get setLatest() {
    const inner = this.inner.setLatest?.bind(this.inner);
    if (!inner) return undefined;
    return async (latestKey: string, key: string, options: OpOptions = {}) => {
      checkKey(this.name, key);
      this.precheck(latestKey, options);
      return inner(latestKey, key, options);
    };
  }
  override get localPath() {
    const inner = this.inner.localPath?.bind(this.inner);
    if (!inner) return undefined;
    return (key: string) => {
      checkKey(this.name, key);
      return inner(key);
    };
  }

  private precheck(key: string, options: OpOptions): void {
    checkKey(this.name, key);
    if (options.signal?.aborted) throw abortedError(this.name, options.signal);
  }

  /** A body backed by a file must be the size it declares before an adapter that reads the file itself gets it. */
  private async checkSize(key: string, body: PutBody): Promise<void> {
    if (body.path === undefined || body.size === undefined) return;
    let actual: number;
    try {
      actual = (await stat(body.path)).size;
    } catch (err) {
      throw fromSystemError(this.name, err, `reading ${body.path} for ${key}`);
    }
    if (actual !== body.size) throw sizeError(this.name, key, actual, body.size);
  }

  private async checkFreeSpace(key: string, body: PutBody, options: OpOptions): Promise<void> {
    const need = body.size ?? body.sizeHint;
    if (need === undefined || !this.inner.freeSpace) return;
    const free = await this.inner.freeSpace(options).catch(() => undefined);
    if (free !== undefined && free < need) {
      throw new StorageError('NO_SPACE', this.name, `not enough free space for ${key}: ${free} bytes free, it needs up to ${need}`);
    }
  }
}

/** Wraps `adapter` so it enforces the shared contract. */
export function withContract(adapter: StorageAdapter): StorageAdapter {
  return adapter instanceof ContractAdapter ? adapter : new ContractAdapter(adapter);
}

function sizeError(target: string, key: string, actual: number, declared: number): StorageError {
  const detail = actual > declared ? `longer than the ${declared} bytes declared` : `only ${actual} of the ${declared} bytes declared`;
  return new StorageError('CORRUPT', target, `the body of ${key} is ${detail}; nothing was stored`);
}

/**
 * The body with every opened stream checked against its declared size
 * (bodies without one pass unchanged), and the size error of the last
 * attempt, if its stream had one.
 */
function exactSize(target: string, key: string, body: PutBody): { body: PutBody; mismatch(): StorageError | undefined } {
  const declared = body.size;
  let failure: StorageError | undefined;
  if (declared === undefined) return { body, mismatch: () => undefined };
  const fail = (seen: number) => (failure = sizeError(target, key, seen, declared));
  const checked: PutBody = {
    replayable: body.replayable,
    size: body.size,
    sizeHint: body.sizeHint,
    path: body.path,
    open() {
      failure = undefined;
      let seen = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          seen += chunk.length;
          if (seen > declared) done(fail(seen));
          else done(null, chunk);
        },
        flush(done) {
          done(seen === declared ? null : fail(seen));
        },
      });
      // pipeline destroys the source when the consumer stops reading (abort), and the counter when the source fails.
      return pipeline(body.open(), counter, () => {});
    },
  };
  return { body: checked, mismatch: () => failure };
}
