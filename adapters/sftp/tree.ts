import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { Stats } from 'ssh2';
import type { OpOptions } from '../../src/storage/adapter.js';
import { StorageError } from '../../src/storage/errors.js';
import { showPath, type TreeAdapter, type TreeDirent, type TreePath, type TreeStat } from '../../src/storage/tree-adapter.js';
import type { SftpAdapter } from './adapter.js';
import { fromSftpError } from './errors.js';
import type { SftpSession } from './session.js';
import { rechunk } from './upload.js';

/** SFTP v3 status NO_SUCH_FILE. */
const NO_SUCH_FILE = 2;
const TEMP_PREFIX = '.ferry-partial-';
const HARDLINK = 'hardlink@openssh.com';
const LSETSTAT = 'lsetstat@openssh.com';

/**
 * Snapshots as directory trees on an SFTP server, over the sftp target's
 * connection. Hard links need the `hardlink@openssh.com` extension (OpenSSH
 * has it): `probe` (and so `ferry check`) says when the server lacks it,
 * and a push then fails with a CONFIG error naming it. SFTP v3 carries
 * mtimes in whole seconds, so link decisions compare seconds. The SFTP
 * client sends and reads every name as UTF-8, so names that are not valid
 * UTF-8 cannot be kept (`rawNames: false`): the core reports such files as
 * not stored.
 */
export class SftpTree implements TreeAdapter {
  readonly mtimeResolutionMs = 1000;
  readonly rawNames = false;

  constructor(readonly name: string, private readonly sftp: SftpAdapter) {}

  private abs(path: TreePath): string {
    const p = showPath(path);
    return p ? posix.join(this.sftp.remoteRoot, p) : this.sftp.remoteRoot;
  }

  /** Runs one request on the shared session; errors become StorageErrors naming `what` and the path. */
  private async run<T>(what: string, path: TreePath, signal: AbortSignal | undefined, fn: (c: SftpSession, p: string) => Promise<T>): Promise<T> {
    const c = await this.sftp.session(signal);
    try {
      return await fn(c, this.abs(path));
    } catch (err) {
      throw fromSftpError(this.name, err, `${what} ${this.abs(path)}`);
    }
  }

  readdir(path: TreePath, options: OpOptions = {}): Promise<TreeDirent[]> {
    return this.run('listing', path, options.signal, async (c, p) => {
      const entries = await c.readdir(p);
      return entries.map((e) => ({ name: e.filename, type: typeOf(e.attrs as Stats) }));
    });
  }

  lstat(path: TreePath, options: OpOptions = {}): Promise<TreeStat | undefined> {
    return this.run('stat', path, options.signal, async (c, p) => {
      try {
        const s = await c.request<Stats>((cb) => c.sftp.lstat(p, cb));
        return { type: typeOf(s), size: s.size, mtimeMs: s.mtime * 1000, mode: s.mode & 0o7777 };
      } catch (err) {
        if ((err as { code?: unknown }).code === NO_SUCH_FILE) return undefined;
        throw err;
      }
    });
  }

  mkdir(path: TreePath, mode: number, options: OpOptions = {}): Promise<void> {
    if (path === '') return this.run('creating', path, options.signal, async () => {});
    return this.run('creating', path, options.signal, (c, p) => c.request<void>((cb) => c.sftp.mkdir(p, { mode: mode | 0o700 }, (err) => cb(err, undefined))));
  }

  writeFile(path: TreePath, data: Readable, mode: number, options: OpOptions = {}): Promise<number> {
    return this.run('writing', path, options.signal, async (c, p) => {
      const handle = await c.request<Buffer>((cb) => c.sftp.open(p, 'wx', { mode: mode | 0o600 }, cb));
      let at = 0;
      try {
        const pending: Promise<void>[] = [];
        for await (const chunk of rechunk(data, c.writeChunk)) {
          pending.push(c.write(handle, chunk, at));
          at += chunk.length;
          if (pending.length >= 16) await pending.shift();
        }
        await Promise.all(pending);
      } finally {
        await c.closeHandle(handle).catch(() => {});
      }
      return at;
    });
  }

  putFile(path: string, data: Buffer, options: OpOptions = {}): Promise<void> {
    const tmp = `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`;
    return this.run('writing', path, options.signal, async (c, p) => {
      const t = this.abs(tmp);
      const handle = await c.request<Buffer>((cb) => c.sftp.open(t, 'wx', { mode: 0o600 }, cb));
      try {
        for (let at = 0; at < data.length; at += c.writeChunk) await c.write(handle, data.subarray(at, at + c.writeChunk), at);
      } finally {
        await c.closeHandle(handle);
      }
      try {
        if (await c.stat(p)) throw Object.assign(new Error('it already exists; it is never replaced'), { code: 'EEXIST' });
        await c.rename(t, p);
      } catch (err) {
        await c.unlink(t).catch(() => {});
        throw err;
      }
    });
  }

  link(existing: TreePath, path: TreePath, options: OpOptions = {}): Promise<void> {
    return this.run(`hard-linking ${this.abs(existing)} as`, path, options.signal, async (c, p) => {
      if (!hasHardlinks(c)) throw missingHardlinks(this.name);
      await c.request<void>((cb) => c.sftp.ext_openssh_hardlink(this.abs(existing), p, (err) => cb(err, undefined)));
    });
  }

  symlink(linkTarget: TreePath, path: TreePath, options: OpOptions & { mtime?: Date } = {}): Promise<void> {
    return this.run('creating symlink', path, options.signal, async (c, p) => {
      await c.request<void>((cb) => c.sftp.symlink(showPath(linkTarget), p, (err) => cb(err, undefined)));
      if (!options.mtime || extensions(c)[LSETSTAT] !== '1') return;
      const t = Math.floor(options.mtime.getTime() / 1000);
      await c.request<void>((cb) => c.sftp.ext_openssh_lsetstat(p, { atime: t, mtime: t }, (err) => cb(err, undefined)));
    });
  }

  readlink(path: TreePath, options: OpOptions = {}): Promise<Buffer> {
    return this.run('reading symlink', path, options.signal, async (c, p) => Buffer.from(await c.request<string>((cb) => c.sftp.readlink(p, cb))));
  }

  setAttributes(path: TreePath, mode: number, mtime: Date, options: OpOptions = {}): Promise<void> {
    const t = Math.floor(mtime.getTime() / 1000);
    return this.run('setting mode and mtime of', path, options.signal, (c, p) => c.request<void>((cb) => c.sftp.setstat(p, { mode, atime: t, mtime: t }, (err) => cb(err, undefined))));
  }

  readFile(path: TreePath, options: OpOptions = {}): Promise<Readable> {
    return this.run('reading', path, options.signal, (c, p) => c.readStream(p, 255 * 1024));
  }

  rename(from: string, to: string, options: OpOptions = {}): Promise<void> {
    return this.run(`renaming ${this.abs(from)} to`, to, options.signal, async (c, p) => {
      if (await c.stat(p)) throw Object.assign(new Error('it already exists; it is never replaced'), { code: 'EEXIST' });
      await c.rename(this.abs(from), p);
    });
  }

  removeTree(path: string, options: OpOptions = {}): Promise<void> {
    return this.run('removing', path, options.signal, async (c, p) => {
      const remove = async (dir: string): Promise<void> => {
        let entries;
        try {
          entries = await c.readdir(dir);
        } catch (err) {
          if ((err as { code?: unknown }).code === NO_SUCH_FILE) return;
          throw err;
        }
        for (const e of entries) {
          const child = posix.join(dir, e.filename);
          if (typeOf(e.attrs as Stats) === 'dir') await remove(child);
          else await c.unlink(child);
        }
        await c.request<void>((cb) => c.sftp.rmdir(dir, (err) => cb(err, undefined)));
      };
      await remove(p);
    });
  }

  remove(path: string, options: OpOptions = {}): Promise<void> {
    return this.run('removing', path, options.signal, (c, p) => c.unlink(p));
  }

  replaceSymlink(path: string, linkTarget: string, options: OpOptions = {}): Promise<void> {
    const tmp = this.abs(`${TEMP_PREFIX}${randomBytes(6).toString('hex')}-link`);
    return this.run('updating', path, options.signal, async (c, p) => {
      await c.request<void>((cb) => c.sftp.symlink(linkTarget, tmp, (err) => cb(err, undefined)));
      try {
        // posix-rename@openssh.com replaces atomically; without it the old link goes first.
        if (extensions(c)['posix-rename@openssh.com'] !== undefined) {
          await c.request<void>((cb) => c.sftp.ext_openssh_rename(tmp, p, (err) => cb(err, undefined)));
        } else {
          await c.unlink(p);
          await c.rename(tmp, p);
        }
      } catch (err) {
        await c.unlink(tmp).catch(() => {});
        throw err;
      }
    });
  }

  /** Proves the server makes hard links (a server may announce the extension and still refuse it). */
  async probe(options: OpOptions = {}): Promise<string[]> {
    const c = await this.sftp.session(options.signal);
    if (!hasHardlinks(c)) throw missingHardlinks(this.name);
    const probe = `${TEMP_PREFIX}probe-${randomBytes(6).toString('hex')}`;
    try {
      await this.putFile(probe, Buffer.alloc(0), options);
      await c.request<void>((cb) => c.sftp.ext_openssh_hardlink(this.abs(probe), this.abs(`${probe}-link`), (err) => cb(err, undefined)));
    } catch (err) {
      throw missingHardlinks(this.name, err);
    } finally {
      await c.unlink(this.abs(probe)).catch(() => {});
      await c.unlink(this.abs(`${probe}-link`)).catch(() => {});
    }
    return [`directory ${this.sftp.remoteRoot} (snapshots as directory trees; the server supports ${HARDLINK})`];
  }

  close(): Promise<void> {
    return this.sftp.close();
  }
}

function typeOf(s: Stats): TreeStat['type'] {
  return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other';
}

function extensions(c: SftpSession): Record<string, string> {
  return (c.sftp as unknown as { _extensions?: Record<string, string> })._extensions ?? {};
}

function hasHardlinks(c: SftpSession): boolean {
  return extensions(c)[HARDLINK] !== undefined;
}

function missingHardlinks(target: string, cause?: unknown): StorageError {
  const detail = cause ? ` (${(cause as Error).message})` : '';
  return new StorageError('CONFIG', target, `the SFTP server does not offer the ${HARDLINK} extension${detail}, so format: tree cannot hard-link unchanged files; use an OpenSSH server or format: archive`, { cause });
}
