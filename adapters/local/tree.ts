import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, createWriteStream, linkSync, lstatSync, lutimesSync, mkdirSync, symlinkSync } from 'node:fs';
import { link, mkdir, readdir, readlink, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { OpOptions } from '../../src/storage/adapter.js';
import { fromSystemError, StorageError } from '../../src/storage/errors.js';
import { showPath, type TreeAdapter, type TreeDirent, type TreePath, type TreeStat } from '../../src/storage/tree-adapter.js';
import { syncPath } from './adapter.js';

/** Prefix of the temporary names of manifests and links being written; such names never list as snapshots. */
const TEMP_PREFIX = '.ferry-partial-';

/** Checks a drive-backed tree runs (the usb target's mount checks); each rejects with a StorageError. */
export interface LocalTreeHooks {
  /** Before the operations that start or commit something: creating the root, manifests, renames, links, removals. */
  beforeWrite?: () => Promise<void>;
  /** Before the root is listed, so an unplugged drive's empty mount directory never reads as "no snapshots". */
  beforeList?: () => Promise<void>;
  /** Why an optional target is absent (a drive not mounted), or undefined. */
  absent?: () => Promise<string | undefined>;
}

/**
 * Snapshots as directory trees under a local directory. The per-entry calls
 * (lstat, link, mkdir, symlink, chmod, utimes) are synchronous: on a cached
 * tree a direct syscall is several times faster than a hop through the
 * thread pool, as for the source walk. The usb target checks its mount
 * through `hooks`.
 */
export class LocalTree implements TreeAdapter {
  readonly mtimeResolutionMs = 1;
  readonly rawNames = true;

  private readonly beforeWrite: () => Promise<void>;

  constructor(readonly name: string, readonly root: string, private readonly hooks: LocalTreeHooks = {}) {
    this.beforeWrite = hooks.beforeWrite ?? (async () => {});
  }

  async absent(): Promise<string | undefined> {
    return this.hooks.absent?.();
  }

  /** The absolute path: a string, or the exact bytes for a Buffer path. */
  private abs(path: string): string;
  private abs(path: TreePath): string | Buffer;
  private abs(path: TreePath): string | Buffer {
    if (typeof path !== 'string') return Buffer.concat([Buffer.from(`${this.root}/`), path]);
    return path ? join(this.root, path) : this.root;
  }

  private fail(err: unknown, what: string, path: TreePath): StorageError {
    return fromSystemError(this.name, err, `${what} ${showPath(this.abs(path))}`);
  }

  async readdir(path: TreePath): Promise<TreeDirent[]> {
    if (path === '') await this.hooks.beforeList?.();
    try {
      const entries = await readdir(this.abs(path), { withFileTypes: true, encoding: 'buffer' });
      return entries.map((e) => ({
        name: e.name.toString('utf8'),
        ...(isUtf8(e.name) ? {} : { raw: e.name }),
        type: e.isFile() ? 'file' : e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'symlink' : 'other',
      }));
    } catch (err) {
      if (path === '' && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw this.fail(err, 'listing', path);
    }
  }

  async lstat(path: TreePath): Promise<TreeStat | undefined> {
    try {
      const s = lstatSync(this.abs(path));
      const type = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other';
      return { type, size: s.size, mtimeMs: s.mtimeMs, mode: s.mode & 0o7777 };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw this.fail(err, 'stat', path);
    }
  }

  async mkdir(path: TreePath, mode: number): Promise<void> {
    try {
      if (path === '') {
        await this.beforeWrite();
        await mkdir(this.root, { recursive: true, mode: 0o700 });
      } else {
        mkdirSync(this.abs(path), { mode: mode | 0o700 });
      }
    } catch (err) {
      throw this.fail(err, 'creating', path);
    }
  }

  async writeFile(path: TreePath, data: Readable, mode: number, options: OpOptions = {}): Promise<number> {
    let written = 0;
    data.on('data', (chunk: Buffer) => { written += chunk.length; });
    try {
      await pipeline(data, createWriteStream(this.abs(path), { flags: 'wx', mode: mode | 0o600, highWaterMark: 1 << 20 }), { signal: options.signal });
      return written;
    } catch (err) {
      throw this.fail(err, 'writing', path);
    }
  }

  async putFile(path: string, data: Buffer): Promise<void> {
    await this.beforeWrite();
    const tmp = this.abs(`${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(tmp, data, { flag: 'wx', mode: 0o600 });
      await syncPath(tmp);
      await link(tmp, this.abs(path));
      await syncPath(this.root);
    } catch (err) {
      throw this.fail(err, 'writing', path);
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  async link(existing: TreePath, path: TreePath): Promise<void> {
    try {
      linkSync(this.abs(existing), this.abs(path));
    } catch (err) {
      throw this.fail(err, `hard-linking ${showPath(this.abs(existing))} as`, path);
    }
  }

  async symlink(linkTarget: TreePath, path: TreePath, options: { mtime?: Date } = {}): Promise<void> {
    try {
      symlinkSync(linkTarget, this.abs(path));
      if (options.mtime) lutimesSync(this.abs(path), options.mtime, options.mtime);
    } catch (err) {
      throw this.fail(err, 'creating symlink', path);
    }
  }

  async readlink(path: TreePath): Promise<Buffer> {
    try {
      return await readlink(this.abs(path), { encoding: 'buffer' });
    } catch (err) {
      throw this.fail(err, 'reading symlink', path);
    }
  }

  async setAttributes(path: TreePath, mode: number, mtime: Date): Promise<void> {
    try {
      chmodSync(this.abs(path), mode);
      lutimesSync(this.abs(path), mtime, mtime);
    } catch (err) {
      throw this.fail(err, 'setting mode and mtime of', path);
    }
  }

  async readFile(path: TreePath, options: OpOptions = {}): Promise<Readable> {
    const stream = createReadStream(this.abs(path), { highWaterMark: 1 << 20, signal: options.signal });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err) => reject(this.fail(err, 'reading', path)));
    });
    return stream;
  }

  async rename(from: string, to: string): Promise<void> {
    await this.beforeWrite();
    try {
      if (await this.lstat(to)) throw Object.assign(new Error('it already exists; it is never replaced'), { code: 'EEXIST' });
      await rename(this.abs(from), this.abs(to));
      await syncPath(this.root);
    } catch (err) {
      throw this.fail(err, `renaming ${this.abs(from)} to`, to);
    }
  }

  async removeTree(path: string): Promise<void> {
    await this.beforeWrite();
    try {
      await rm(this.abs(path), { recursive: true, force: true });
    } catch (err) {
      throw this.fail(err, 'removing', path);
    }
  }

  async remove(path: string): Promise<void> {
    await this.beforeWrite();
    try {
      await unlink(this.abs(path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw this.fail(err, 'removing', path);
    }
  }

  async replaceSymlink(path: string, linkTarget: string): Promise<void> {
    await this.beforeWrite();
    const tmp = this.abs(`${TEMP_PREFIX}${randomBytes(6).toString('hex')}-link`);
    try {
      await symlink(linkTarget, tmp);
      await rename(tmp, this.abs(path));
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw this.fail(err, 'updating', path);
    }
  }

  /** The root is writable and its filesystem keeps hard links (FAT and exFAT do not). */
  async probe(): Promise<string[]> {
    await this.mkdir('', 0o700);
    const a = this.abs(`${TEMP_PREFIX}probe-${randomBytes(6).toString('hex')}`);
    try {
      await writeFile(a, '', { flag: 'wx', mode: 0o600 });
      try {
        await link(a, `${a}-link`);
      } catch (err) {
        throw new StorageError('CONFIG', this.name, `${this.root} does not support hard links (${(err as NodeJS.ErrnoException).code}); format: tree needs them`, { cause: err });
      }
    } catch (err) {
      throw fromSystemError(this.name, err, `writing in ${this.root}`);
    } finally {
      await unlink(a).catch(() => {});
      await unlink(`${a}-link`).catch(() => {});
    }
    return [`directory ${this.root} (snapshots as directory trees, hard links supported)`];
  }
}

