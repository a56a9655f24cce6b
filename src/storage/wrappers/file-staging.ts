import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Capabilities, OpOptions, PutBody, StorageAdapter } from '../adapter.js';
import { makeStagingDir } from '../../state/staging-dirs.js';
import { fileBody } from '../body.js';
import { abortedError, fromSystemError, StorageError } from '../errors.js';
import { DelegatingAdapter } from './delegate.js';

/**
 * Lets an adapter that needs a finished local file (`streamingPut: false`,
 * such as rsync) accept any body. A body without `path` is first written to a
 * private temp file (mode 0600, in a fresh 0700 directory under `stagingDir`,
 * named for this process so that a later run removes it if this one is killed),
 * which is passed on as a replayable file body and removed when the put ends,
 * whether it succeeded or not. Bodies that already have a path pass straight
 * through. The wrapped adapter reports `streamingPut: true`.
 */
export class FileStagingAdapter extends DelegatingAdapter {
  constructor(inner: StorageAdapter, private readonly stagingDir: string) {
    super(inner);
  }

  override get capabilities(): Capabilities {
    return { ...this.inner.capabilities, streamingPut: true };
  }

  override async put(key: string, body: PutBody, options: OpOptions = {}): Promise<number> {
    if (body.path !== undefined) return this.inner.put(key, body, options);
    let dir: string | undefined;
    try {
      dir = await makeStagingDir(this.stagingDir, 'stage');
      const file = join(dir, `${randomBytes(4).toString('hex')}.part`);
      try {
        await pipeline(body.open(), createWriteStream(file, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 }), { signal: options.signal });
      } catch (err) {
        if (options.signal?.aborted) throw abortedError(this.name, options.signal);
        throw err instanceof StorageError ? err : fromSystemError(this.name, err, `staging ${key} in ${this.stagingDir}`);
      }
      const { size } = await stat(file);
      return await this.inner.put(key, fileBody(file, size), options);
    } catch (err) {
      throw err instanceof StorageError ? err : fromSystemError(this.name, err, `staging ${key} in ${this.stagingDir}`);
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Wraps `adapter` with file staging when it cannot take a stream; returns it unchanged otherwise. */
export function withFileStaging(adapter: StorageAdapter, stagingDir: string): StorageAdapter {
  return adapter.capabilities.streamingPut ? adapter : new FileStagingAdapter(adapter, stagingDir);
}
