import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import type { Capabilities, ObjectInfo, OpOptions, PutBody, StorageAdapter } from '../../src/storage/adapter.js';
import { abortedError, StorageError } from '../../src/storage/errors.js';
import { checkAborted, openSftp, type SftpConnectOptions, type SftpConnection } from './connection.js';
import { fromSftpError } from './errors.js';
import { writeRemoteFile, WRITE_CHUNK } from './upload.js';

/** Prefix of in-progress uploads. Hidden names never list. */
const TEMP_PREFIX = '.ferry-partial-';
/** Age after which a temporary upload file is certainly abandoned. */
const STALE_PARTIAL_MS = 24 * 60 * 60 * 1000;

export interface SftpAdapterOptions extends SftpConnectOptions {
  /** Remote directory; relative (or `~/...`) means under the login directory. */
  root: string;
}

/**
 * Archives as files in one directory on an SFTP server. One SSH connection
 * per adapter, opened on first use and reopened after it drops; `close()`
 * ends it. Uploads go to a hidden temporary name with mode 0600 and are moved
 * into place with plain SFTP v3 RENAME, which fails when the new name exists
 * (OpenSSH links and unlinks), unlike the posix-rename extension that would
 * replace it: a put never replaces a file (EXISTS). The name is also checked
 * before the upload starts and just before the rename, for servers whose
 * rename is less strict. A failed or aborted upload removes its temporary
 * file when the connection still allows it.
 */
export class SftpAdapter implements StorageAdapter {
  readonly capabilities: Capabilities = { streamingPut: true, maxConcurrency: 4 };
  private readonly root: string;
  private conn?: Promise<SftpConnection>;
  private rootReady?: SftpConnection;

  constructor(readonly name: string, private readonly options: SftpAdapterOptions) {
    const r = options.root.replace(/^~(\/|$)/, '') || '.';
    this.root = r.length > 1 ? r.replace(/\/+$/, '') : r;
  }

  async put(key: string, body: PutBody, options: OpOptions = {}): Promise<number> {
    const path = this.pathOf(key);
    const c = await this.connection(options.signal);
    await this.ensureRoot(c);
    await this.refuseExisting(c, path);
    const tmp = posix.join(this.root, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${key}`);
    let input: Readable | undefined;
    try {
      checkAborted(this.name, options.signal);
      input = body.open();
      if (options.signal) addAbortSignal(options.signal, input);
      const written = await writeRemoteFile(c.sftp, tmp, input, 0o600);
      checkAborted(this.name, options.signal);
      await this.refuseExisting(c, path);
      await new Promise<void>((resolve, reject) => c.sftp.rename(tmp, path, (err) => (err ? reject(err) : resolve())));
      return written;
    } catch (err) {
      input?.destroy();
      if (!c.dead) await c.client.delete(tmp, true).catch(() => {});
      if (options.signal?.aborted) throw abortedError(this.name, options.signal, `upload of ${path}`);
      if (!(err instanceof StorageError) && !c.dead) await this.refuseExisting(c, path, err);
      throw await this.writeError(c, err, `writing ${path}`);
    }
  }

  /** Rejects with EXISTS when something already has the name `path`. */
  private async refuseExisting(c: SftpConnection, path: string, cause?: unknown): Promise<void> {
    const found = await c.client.exists(path).catch(() => false);
    if (found) throw new StorageError('EXISTS', this.name, `${path} already exists; it is never replaced`, { cause });
  }

  /** Opens the file once the server has confirmed it exists, so a missing key rejects here with NOT_FOUND. */
  async get(key: string, options: OpOptions = {}): Promise<Readable> {
    const path = this.pathOf(key);
    const c = await this.connection(options.signal);
    try {
      const stream = c.client.createReadStream(path, { highWaterMark: WRITE_CHUNK });
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', reject);
      });
      if (options.signal) addAbortSignal(options.signal, stream);
      failWhenChannelCloses(c, stream);
      return stream;
    } catch (err) {
      throw fromSftpError(this.name, err, `reading ${path}`, c.dead);
    }
  }

  async stat(key: string, options: OpOptions = {}): Promise<ObjectInfo> {
    const path = this.pathOf(key);
    const c = await this.connection(options.signal);
    try {
      const s = await c.client.stat(path);
      if (!s.isFile) throw new StorageError('NOT_FOUND', this.name, `${path} is not a regular file`);
      return { key, size: s.size, modified: new Date(s.modifyTime) };
    } catch (err) {
      throw fromSftpError(this.name, err, `stat ${path}`, c.dead);
    }
  }

  async list(prefix: string, options: OpOptions = {}): Promise<ObjectInfo[]> {
    const c = await this.connection(options.signal);
    try {
      const entries = await c.client.list(this.root);
      // Temporary files of uploads killed more than a day ago never list; they are swept here, best effort.
      const cutoff = Date.now() - STALE_PARTIAL_MS;
      for (const e of entries) {
        if (e.name.startsWith(TEMP_PREFIX) && e.modifyTime < cutoff) await c.client.delete(posix.join(this.root, e.name), true).catch(() => {});
      }
      return entries
        .filter((e) => e.type === '-' && !e.name.startsWith('.') && e.name.startsWith(prefix))
        .map((e) => ({ key: e.name, size: e.size, modified: new Date(e.modifyTime) }));
    } catch (err) {
      const mapped = fromSftpError(this.name, err, `listing ${this.root}`, c.dead);
      if (mapped.code === 'NOT_FOUND') return [];
      throw mapped;
    }
  }

  async remove(key: string, options: OpOptions = {}): Promise<void> {
    const path = this.pathOf(key);
    const c = await this.connection(options.signal);
    try {
      await c.client.delete(path, true);
    } catch (err) {
      throw fromSftpError(this.name, err, `removing ${path}`, c.dead);
    }
  }

  /** Free bytes for an unprivileged user, from the OpenSSH statvfs extension; undefined when the server lacks it. */
  async freeSpace(options: OpOptions = {}): Promise<number | undefined> {
    const c = await this.connection(options.signal);
    return statvfsFree(c, this.root);
  }

  async probe(options: OpOptions = {}): Promise<string[]> {
    const c = await this.connection(options.signal);
    await this.ensureRoot(c);
    return [`sftp ${this.options.user}@${this.options.host}:${this.options.port} directory ${this.root}`];
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    const c = await conn?.catch(() => undefined);
    await c?.client.end().catch(() => {});
  }

  /** The shared connection; a dead one is replaced, a failed attempt is not cached. */
  private async connection(signal?: AbortSignal): Promise<SftpConnection> {
    checkAborted(this.name, signal);
    const current = this.conn;
    if (current) {
      const c = await current.catch(() => undefined);
      if (c && !c.dead) return c;
      if (this.conn === current) this.conn = undefined;
      if (c) await c.client.end().catch(() => {});
    }
    if (!this.conn) {
      const attempt = openSftp(this.name, this.options);
      this.conn = attempt;
      attempt.catch(() => { if (this.conn === attempt) this.conn = undefined; });
    }
    return this.conn;
  }

  /** Creates the directory (with parents) once per connection. */
  private async ensureRoot(c: SftpConnection): Promise<void> {
    if (this.rootReady === c) return;
    try {
      if ((await c.client.exists(this.root)) !== 'd') await c.client.mkdir(this.root, true);
    } catch (err) {
      throw fromSftpError(this.name, err, `creating ${this.root}`);
    }
    this.rootReady = c;
  }

  /** SFTP v3 reports a full disk as a generic failure; statvfs tells it apart. */
  private async writeError(c: SftpConnection, err: unknown, what: string): Promise<StorageError> {
    const mapped = fromSftpError(this.name, err, what, c.dead);
    if (mapped.code !== 'UNKNOWN' || c.dead) return mapped;
    const free = await statvfsFree(c, this.root);
    if (free !== undefined && free < WRITE_CHUNK * 2) {
      return new StorageError('NO_SPACE', this.name, `${what}: no space left on the server (${free} bytes free)`, { cause: err });
    }
    return mapped;
  }

  private pathOf(key: string): string {
    if (!key || key.includes('/') || key.includes('\\') || key === '.' || key === '..' || key.includes('\0')) {
      throw new StorageError('CONFIG', this.name, `invalid object name ${JSON.stringify(key)}`);
    }
    return posix.join(this.root, key);
  }
}

/**
 * ssh2 never answers a read issued after the channel closed, so a download
 * whose server died would wait forever; this fails the stream instead.
 */
function failWhenChannelCloses(c: SftpConnection, stream: Readable): void {
  const lost = () => stream.destroy(Object.assign(new Error('connection lost: the SFTP channel closed'), { code: 'ECONNRESET' }));
  c.sftp.once('end', lost);
  c.sftp.once('close', lost);
  stream.once('close', () => {
    c.sftp.removeListener('end', lost);
    c.sftp.removeListener('close', lost);
  });
}

/** Free bytes from the statvfs extension; undefined when the server lacks it or the channel is gone (ssh2 would never answer). */
function statvfsFree(c: SftpConnection, path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const channel = c.sftp as unknown as { readable?: boolean };
    if (c.dead || channel.readable === false) return resolve(undefined);
    try {
      c.sftp.ext_openssh_statvfs(path, (err, fs) => {
        // ssh2 names the fields after struct statvfs (f_bavail, f_frsize), unlike its type declarations.
        const v = fs as unknown as { f_bavail?: number | bigint; f_frsize?: number | bigint } | undefined;
        const free = Number(v?.f_bavail) * Number(v?.f_frsize);
        resolve(err || !Number.isFinite(free) ? undefined : free);
      });
    } catch {
      resolve(undefined);
    }
  });
}
