import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import type { Capabilities, ObjectInfo, OpOptions, PutBody, StorageAdapter } from '../../src/storage/adapter.js';
import { abortedError, StorageError } from '../../src/storage/errors.js';
import type { Stats } from 'ssh2';
import { checkAborted, openSftp, type SftpConnectOptions } from './connection.js';
import { fromSftpError } from './errors.js';
import type { SftpSession } from './session.js';
import { uploadResumable } from './upload.js';
import { Backoff, DEFAULT_RESUME_TIMEOUT_MS } from '../ssh/backoff.js';

/** Prefix of in-progress uploads. Hidden names never list. */
const TEMP_PREFIX = '.ferry-partial-';
/** Age after which a temporary upload file is certainly abandoned. */
const STALE_PARTIAL_MS = 24 * 60 * 60 * 1000;

export interface SftpAdapterOptions extends SftpConnectOptions {
  /** Remote directory; relative (or `~/...`) means under the login directory. */
  root: string;
  /** Bytes of an upload kept in memory to resume it after a dropped connection (see ReplayBuffer). */
  replayBuffer?: number;
  /** Milliseconds an interrupted upload may go without progress before it fails (default 120 s). */
  resumeTimeoutMs?: number;
}

/** Bytes per READ request of a download (ssh2 splits larger ones to the server's limit). */
const READ_CHUNK = 255 * 1024;
const DEFAULT_REPLAY_BUFFER = 32 * 1024 * 1024;
/** S_IFMT and S_IFREG of a file's mode. */
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/**
 * Archives as files in one directory on an SFTP server. One SSH connection
 * per adapter, opened on first use and reopened after it drops; `close()`
 * ends it. Uploads go to a hidden temporary name with mode 0600 and are moved
 * into place with plain SFTP v3 RENAME, which servers implement without
 * replacing an existing name (OpenSSH links and unlinks), so no
 * `posix-rename@openssh.com` is needed and a put never replaces a file
 * (EXISTS). The name is also checked before the upload starts and just
 * before the rename, for servers whose rename is less strict. An upload cut
 * off by a dropped connection resumes where the server's partial file ends
 * (see uploadResumable). A failed or aborted upload removes its temporary
 * file when the connection still allows it; leftovers of killed runs are
 * swept by `list` after 24 hours.
 */
export class SftpAdapter implements StorageAdapter {
  readonly capabilities: Capabilities = { streamingPut: true, maxConcurrency: 4 };
  private readonly root: string;
  private conn?: Promise<SftpSession>;
  private rootReady?: SftpSession;

  constructor(readonly name: string, private readonly options: SftpAdapterOptions) {
    const r = options.root.replace(/^~(\/|$)/, '') || '.';
    this.root = r.length > 1 ? r.replace(/\/+$/, '') : r;
  }

  async put(key: string, body: PutBody, options: OpOptions = {}): Promise<number> {
    const path = this.pathOf(key);
    const { signal } = options;
    const c = await this.connection(signal);
    await this.ensureRoot(c);
    await this.refuseExisting(c, path);
    const tmp = posix.join(this.root, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${key}`);
    let input: Readable | undefined;
    try {
      checkAborted(this.name, signal);
      input = body.open();
      if (signal) addAbortSignal(signal, input);
      const { bytes, resumes } = await uploadResumable(input, {
        target: this.name,
        path: tmp,
        mode: 0o600,
        replayBuffer: this.options.replayBuffer ?? DEFAULT_REPLAY_BUFFER,
        resumeTimeoutMs: this.options.resumeTimeoutMs ?? DEFAULT_RESUME_TIMEOUT_MS,
        signal,
        connect: () => this.connection(signal),
        onInterrupted: (err, done) => this.options.log.warn(`target "${this.name}": upload of ${key} interrupted (${err.message}); resuming (${done} resumed so far)`),
      });
      if (resumes > 0) this.options.log.info(`target "${this.name}": ${key} stored after resuming the upload ${resumes} time${resumes === 1 ? '' : 's'}`);
      await this.commit(tmp, path, bytes, signal);
      return bytes;
    } catch (err) {
      input?.destroy();
      const live = await this.liveConnection();
      // Free space is read before the temporary file goes: removing it would make a full disk look fine.
      const mapped = await this.writeError(live, err, `writing ${path}`);
      await live?.unlink(tmp).catch(() => {});
      if (signal?.aborted) throw abortedError(this.name, signal, `upload of ${path}`);
      if (!(err instanceof StorageError) && live) await this.refuseExisting(live, path, err);
      throw mapped;
    }
  }

  /**
   * Renames the finished temporary file `tmp` to `path`, reconnecting like an
   * upload when the connection drops. A rename whose answer was lost has
   * happened when `tmp` is gone and `path` has the upload's size.
   */
  private async commit(tmp: string, path: string, bytes: number, signal?: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.name, this.options.resumeTimeoutMs ?? DEFAULT_RESUME_TIMEOUT_MS, signal);
    for (let attempt = 0; ; attempt++) {
      let c: SftpSession | undefined;
      try {
        c = await this.connection(signal);
        if (attempt > 0 && !(await c.stat(tmp)) && (await c.stat(path))?.size === bytes) return;
        await this.refuseExisting(c, path);
        await c.rename(tmp, path);
        return;
      } catch (err) {
        const mapped = fromSftpError(this.name, err, `renaming ${tmp} to ${path}`);
        if (!mapped.retryable || signal?.aborted) throw err;
        c?.end();
        await backoff.wait(mapped, `renaming ${tmp} to ${path}`);
      }
    }
  }

  /** Rejects with EXISTS when something already has the name `path`. */
  private async refuseExisting(c: SftpSession, path: string, cause?: unknown): Promise<void> {
    const found = await c.stat(path).catch(() => undefined);
    if (found) throw new StorageError('EXISTS', this.name, `${path} already exists; it is never replaced`, { cause });
  }

  /** Opens the file once the server has confirmed it exists, so a missing key rejects here with NOT_FOUND. */
  async get(key: string, options: OpOptions = {}): Promise<Readable> {
    const path = this.pathOf(key);
    const c = await this.connection(options.signal);
    try {
      const stream = await c.readStream(path, READ_CHUNK);
      if (options.signal) addAbortSignal(options.signal, stream);
      return stream;
    } catch (err) {
      throw fromSftpError(this.name, err, `reading ${path}`);
    }
  }

  async stat(key: string, options: OpOptions = {}): Promise<ObjectInfo> {
    const path = this.pathOf(key);
    const c = await this.connection(options.signal);
    let s: Stats | undefined;
    try {
      s = await c.stat(path);
    } catch (err) {
      throw fromSftpError(this.name, err, `stat ${path}`);
    }
    if (!s) throw new StorageError('NOT_FOUND', this.name, `stat ${path}: no such file`);
    if (!s.isFile()) throw new StorageError('NOT_FOUND', this.name, `${path} is not a regular file`);
    return { key, size: s.size, modified: new Date(s.mtime * 1000) };
  }

  async list(prefix: string, options: OpOptions = {}): Promise<ObjectInfo[]> {
    const c = await this.connection(options.signal);
    try {
      const entries = await c.readdir(this.root);
      // Temporary files of uploads killed (or given up) more than a day ago never list; they are swept here, best effort.
      const cutoff = (Date.now() - STALE_PARTIAL_MS) / 1000;
      for (const e of entries) {
        if (e.filename.startsWith(TEMP_PREFIX) && e.attrs.mtime < cutoff) await c.unlink(posix.join(this.root, e.filename)).catch(() => {});
      }
      return entries
        .filter((e) => (e.attrs.mode & S_IFMT) === S_IFREG && !e.filename.startsWith('.') && e.filename.startsWith(prefix))
        .map((e) => ({ key: e.filename, size: e.attrs.size, modified: new Date(e.attrs.mtime * 1000) }));
    } catch (err) {
      const mapped = fromSftpError(this.name, err, `listing ${this.root}`);
      if (mapped.code === 'NOT_FOUND') return [];
      throw mapped;
    }
  }

  async remove(key: string, options: OpOptions = {}): Promise<void> {
    const path = this.pathOf(key);
    const c = await this.connection(options.signal);
    try {
      await c.unlink(path);
    } catch (err) {
      throw fromSftpError(this.name, err, `removing ${path}`);
    }
  }

  /** Free bytes for an unprivileged user, from the OpenSSH statvfs extension; undefined when the server lacks it. */
  async freeSpace(options: OpOptions = {}): Promise<number | undefined> {
    const c = await this.connection(options.signal);
    return c.freeSpace(this.root);
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
    c?.end();
  }

  /** The remote directory of this target, as paths on the server use it. */
  get remoteRoot(): string {
    return this.root;
  }

  /** The shared connection with the target's directory created (the tree target works on it). */
  async session(signal?: AbortSignal): Promise<SftpSession> {
    const c = await this.connection(signal);
    await this.ensureRoot(c);
    return c;
  }

  /** The shared connection; a dead one is replaced, a failed attempt is not cached. */
  private async connection(signal?: AbortSignal): Promise<SftpSession> {
    checkAborted(this.name, signal);
    const current = this.conn;
    if (current) {
      const c = await current.catch(() => undefined);
      if (c && !c.dead) return c;
      if (this.conn === current) this.conn = undefined;
      c?.end();
    }
    if (!this.conn) {
      const attempt = openSftp(this.name, this.options, signal);
      this.conn = attempt;
      attempt.catch(() => { if (this.conn === attempt) this.conn = undefined; });
    }
    return this.conn;
  }

  /** The shared connection when one is up, without opening a new one. */
  private async liveConnection(): Promise<SftpSession | undefined> {
    const c = await this.conn?.catch(() => undefined);
    return c && !c.dead ? c : undefined;
  }

  /** Creates the directory (with parents) once per connection. */
  private async ensureRoot(c: SftpSession): Promise<void> {
    if (this.rootReady === c) return;
    try {
      await c.mkdirp(this.root);
    } catch (err) {
      throw fromSftpError(this.name, err, `creating ${this.root}`);
    }
    this.rootReady = c;
  }

  /** SFTP v3 reports a full disk as a generic failure; statvfs tells it apart. */
  private async writeError(c: SftpSession | undefined, err: unknown, what: string): Promise<StorageError> {
    const mapped = fromSftpError(this.name, err, what);
    if (mapped.code !== 'UNKNOWN' || !c) return mapped;
    const free = await c.freeSpace(this.root);
    if (free !== undefined && free < c.writeChunk * 2) {
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
