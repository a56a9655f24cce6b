import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, stat, statfs, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Capabilities, ObjectInfo, OpOptions, PutBody, StorageAdapter } from '../../src/storage/adapter.js';
import { fromSystemError, StorageError } from '../../src/storage/errors.js';

/** Prefix of in-progress uploads; such names never list. */
const TEMP_PREFIX = '.ferry-partial-';
/** link() errors of filesystems without hard links (FAT, exFAT, some network mounts). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/** Age after which a temporary upload file is certainly abandoned. */
const STALE_PARTIAL_MS = 24 * 60 * 60 * 1000;

/**
 * Archives as files in one directory. Writes go to a hidden temporary name,
 * are fsynced, then take their final name with `link()`, which fails when
 * the name exists, so a put never replaces a file (EXISTS); the directory is
 * fsynced, so a crash leaves either the old state or the complete new file.
 * On filesystems without hard links the final name is first claimed with an
 * O_EXCL create and the temporary file renamed over that claim. Files are 0600.
 */
export class LocalAdapter implements StorageAdapter {
  readonly capabilities: Capabilities = { streamingPut: true, maxConcurrency: 4 };

  constructor(readonly name: string, readonly root: string) {}

  /** Hook for subclasses: called before every write (the usb adapter checks the mount here). */
  protected async beforeWrite(_body: PutBody | undefined, _options?: OpOptions): Promise<void> {}

  async put(key: string, body: PutBody, options: OpOptions = {}): Promise<number> {
    await this.beforeWrite(body, options);
    await this.ensureRoot();
    const tmp = join(this.root, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${key}`);
    let written = 0;
    try {
      const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 });
      const input = body.open();
      input.on('data', (chunk: Buffer) => { written += chunk.length; });
      await pipeline(input, out, { signal: options.signal });
      await syncPath(tmp);
      await commitExclusive(tmp, join(this.root, key));
      await syncPath(this.root);
      await this.removeStalePartials();
      return written;
    } catch (err) {
      await unlink(tmp).catch(() => {});
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new StorageError('EXISTS', this.name, `${join(this.root, key)} already exists; it is never replaced`, { cause: err });
      }
      throw fromSystemError(this.name, err, `writing ${join(this.root, key)}`);
    }
  }

  async get(key: string, options: OpOptions = {}): Promise<Readable> {
    const path = join(this.root, key);
    const stream = createReadStream(path, { highWaterMark: 1 << 20, signal: options.signal });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err) => reject(fromSystemError(this.name, err, `reading ${path}`)));
    });
    return stream;
  }

  async stat(key: string, _options?: OpOptions): Promise<ObjectInfo> {
    const path = join(this.root, key);
    try {
      const s = await stat(path);
      if (!s.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOENT' });
      return { key, size: s.size, modified: s.mtime };
    } catch (err) {
      throw fromSystemError(this.name, err, `stat ${path}`);
    }
  }

  async list(prefix: string, _options?: OpOptions): Promise<ObjectInfo[]> {
    let entries;
    try {
      entries = await readdir(this.root, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw fromSystemError(this.name, err, `listing ${this.root}`);
    }
    const out: ObjectInfo[] = [];
    for (const e of entries) {
      if (!e.isFile() || e.name.startsWith('.') || !e.name.startsWith(prefix)) continue;
      try {
        const s = await stat(join(this.root, e.name));
        out.push({ key: e.name, size: s.size, modified: s.mtime });
      } catch {
        // Removed between readdir and stat: it is simply gone.
      }
    }
    return out;
  }

  async remove(key: string, _options?: OpOptions): Promise<void> {
    try {
      await unlink(join(this.root, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(this.name, err, `removing ${join(this.root, key)}`);
    }
  }

  /**
   * Removes temporary files of uploads that were killed (kill -9, power loss)
   * more than a day ago. They never list, but they hold disk space. Best effort.
   */
  private async removeStalePartials(): Promise<void> {
    const cutoff = Date.now() - STALE_PARTIAL_MS;
    const names = await readdir(this.root).catch(() => [] as string[]);
    for (const name of names) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const path = join(this.root, name);
      const s = await lstat(path).catch(() => undefined);
      if (s && s.mtimeMs < cutoff) await unlink(path).catch(() => {});
    }
  }

  /** Atomically repoints the `latestKey` symlink at `key` (a relative link inside the directory). */
  async setLatest(latestKey: string, key: string, options?: OpOptions): Promise<void> {
    await this.beforeWrite(undefined, options);
    const tmp = join(this.root, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-link`);
    try {
      await symlink(key, tmp);
      await rename(tmp, join(this.root, latestKey));
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw fromSystemError(this.name, err, `updating ${join(this.root, latestKey)}`);
    }
  }

  localPath(key: string): string {
    return join(this.root, key);
  }

  async freeSpace(_options?: OpOptions): Promise<number | undefined> {
    try {
      const s = await statfs(await this.existingAncestor());
      return s.bavail * s.bsize;
    } catch {
      return undefined;
    }
  }

  async probe(options?: OpOptions): Promise<string[]> {
    await this.beforeWrite(undefined, options);
    return [`directory ${this.root}`];
  }

  protected async ensureRoot(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fromSystemError(this.name, err, `creating ${this.root}`);
    }
  }

  private async existingAncestor(): Promise<string> {
    let dir = this.root;
    for (;;) {
      try {
        await stat(dir);
        return dir;
      } catch {
        const parent = join(dir, '..');
        if (parent === dir) return dir;
        dir = parent;
      }
    }
  }
}

/**
 * Gives the finished temporary file `tmp` the name `final` unless `final`
 * exists (then rejects with EEXIST and `final` is untouched). A hard link is
 * atomic and exclusive; without hard links, an O_EXCL create claims the name
 * and the rename replaces only that empty claim.
 */
async function commitExclusive(tmp: string, final: string): Promise<void> {
  try {
    await link(tmp, final);
    await unlink(tmp);
    return;
  } catch (err) {
    if (!NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  const claim = await open(final, 'wx', 0o600);
  await claim.close();
  try {
    await rename(tmp, final);
  } catch (err) {
    await unlink(final).catch(() => {});
    throw err;
  }
}

/** fsync a file or directory by path (fsync applies to the inode, whichever descriptor is used). */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
