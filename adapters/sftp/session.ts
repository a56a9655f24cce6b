import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { Client, FileEntry, SFTPWrapper, Stats } from 'ssh2';

/** SFTP v3 status NO_SUCH_FILE. */
const NO_SUCH_FILE = 2;
/** Bytes per WRITE on servers that do not announce their limits: below every implementation's packet size. */
const DEFAULT_WRITE = 32 * 1024;

/** The error of a request that can no longer be answered because the connection is gone. */
export function connectionLost(cause?: unknown): Error {
  return Object.assign(new Error('connection lost: the SFTP channel closed', { cause }), { code: 'ECONNRESET' });
}

/**
 * One SSH connection with its SFTP channel, and promise-returning requests
 * on it. Every request is guarded by the channel's lifetime: ssh2 never calls
 * back a request issued after the channel closed, so each one rejects with a
 * connection-lost error (ECONNRESET) as soon as the channel is gone, and a
 * request that fails without an SFTP status (ssh2's "no response" when the
 * channel closes under it) is reported the same way. Failures that carry a
 * status keep it in `err.code` (a number).
 */
export class SftpSession {
  /** Bytes per WRITE request: the server's `limits@openssh.com` answer, or 32 KiB when it announces none. */
  readonly writeChunk: number;
  private closed = false;
  private readonly gone: Promise<never>;
  private onGone!: () => void;

  constructor(readonly client: Client, readonly sftp: SFTPWrapper) {
    this.gone = new Promise<never>((_resolve, reject) => {
      this.onGone = () => {
        this.closed = true;
        reject(connectionLost());
      };
    });
    this.gone.catch(() => {});
    for (const source of [sftp, client] as NodeJS.EventEmitter[]) {
      source.once('close', this.onGone);
      source.once('end', this.onGone);
    }
    client.on('error', this.onGone);
    // ssh2 keeps the negotiated extensions and limits in private fields; it applies the limits to its own requests too.
    const internals = sftp as unknown as { _extensions?: Record<string, string>; _maxWriteLen?: number };
    // A request larger than `_maxWriteLen` is split by ssh2 into sequential parts, which would interleave with the
    // next requests in flight: no request may exceed it, and without announced limits none exceeds 32 KiB either.
    const ssh2Limit = (internals._maxWriteLen ?? 0) > 0 ? internals._maxWriteLen! : DEFAULT_WRITE;
    const announced = internals._extensions?.['limits@openssh.com'] !== undefined;
    this.writeChunk = announced ? ssh2Limit : Math.min(DEFAULT_WRITE, ssh2Limit);
  }

  /** True once the connection ended for any reason. */
  get dead(): boolean {
    return this.closed;
  }

  /** Issues one request; see the class comment for how it fails. */
  request<T>(fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
    if (this.closed) return Promise.reject(connectionLost());
    const answer = new Promise<T>((resolve, reject) => {
      try {
        fn((err, value) => (err ? reject(typeof (err as { code?: unknown }).code === 'number' ? err : connectionLost(err)) : resolve(value)));
      } catch (err) {
        reject(err);
      }
    });
    return Promise.race([answer, this.gone]);
  }

  /** The file's attributes, or undefined when it does not exist. */
  async stat(path: string): Promise<Stats | undefined> {
    try {
      return await this.request<Stats>((cb) => this.sftp.stat(path, cb));
    } catch (err) {
      if ((err as { code?: unknown }).code === NO_SUCH_FILE) return undefined;
      throw err;
    }
  }

  readdir(path: string): Promise<FileEntry[]> {
    return this.request<FileEntry[]>((cb) => this.sftp.readdir(path, cb));
  }

  /** Removes a file; a missing file is not an error. */
  async unlink(path: string): Promise<void> {
    try {
      await this.request<void>((cb) => this.sftp.unlink(path, (err) => cb(err, undefined)));
    } catch (err) {
      if ((err as { code?: unknown }).code !== NO_SUCH_FILE) throw err;
    }
  }

  /** Creates `path` and its missing parents. */
  async mkdirp(path: string): Promise<void> {
    const found = await this.stat(path);
    if (found?.isDirectory()) return;
    const parent = posix.dirname(path);
    if (parent !== path && parent !== '.' && parent !== '/') await this.mkdirp(parent);
    try {
      await this.request<void>((cb) => this.sftp.mkdir(path, (err) => cb(err, undefined)));
    } catch (err) {
      // Created meanwhile by a concurrent put: fine when it is a directory now.
      if (!(await this.stat(path))?.isDirectory()) throw err;
    }
  }

  /** SFTP v3 RENAME: fails when `to` exists (OpenSSH links, then unlinks), so it never replaces a file. */
  rename(from: string, to: string): Promise<void> {
    return this.request<void>((cb) => this.sftp.rename(from, to, (err) => cb(err, undefined)));
  }

  open(path: string, flags: 'w' | 'r+', mode: number): Promise<Buffer> {
    return this.request<Buffer>((cb) => this.sftp.open(path, flags, { mode }, cb));
  }

  write(handle: Buffer, data: Buffer, at: number): Promise<void> {
    return this.request<void>((cb) => this.sftp.write(handle, data, 0, data.length, at, (err) => cb(err, undefined)));
  }

  closeHandle(handle: Buffer): Promise<void> {
    return this.request<void>((cb) => this.sftp.close(handle, (err) => cb(err, undefined)));
  }

  /** Free bytes for an unprivileged user (OpenSSH's statvfs extension); undefined when the server lacks it or the call fails. */
  async freeSpace(path: string): Promise<number | undefined> {
    try {
      const fs = await this.request<unknown>((cb) => this.sftp.ext_openssh_statvfs(path, cb));
      // ssh2 names the fields after struct statvfs (f_bavail, f_frsize), unlike its type declarations.
      const v = fs as { f_bavail?: number | bigint; f_frsize?: number | bigint } | undefined;
      const free = Number(v?.f_bavail) * Number(v?.f_frsize);
      return Number.isFinite(free) ? free : undefined;
    } catch {
      return undefined;
    }
  }

  /** Opens `path` for reading once the server has confirmed it (so a missing file rejects here); the stream fails when the channel closes. */
  async readStream(path: string, highWaterMark: number): Promise<Readable> {
    const stream = this.sftp.createReadStream(path, { highWaterMark });
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', reject);
      }),
      this.gone,
    ]).catch((err: unknown) => {
      stream.destroy();
      throw typeof (err as { code?: unknown }).code === 'number' || this.closed ? err : connectionLost(err);
    });
    this.gone.catch(() => { if (!stream.destroyed) stream.destroy(connectionLost()); });
    return stream;
  }

  /** Ends the connection. */
  end(): void {
    this.closed = true;
    this.client.end();
  }
}
