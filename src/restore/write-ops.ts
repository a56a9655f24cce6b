import { closeSync, constants, fchmodSync, fchownSync, ftruncateSync, futimesSync, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';

/**
 * The file system steps of a restore that `FileWriter` batches, in the
 * order the archive lists them. Paths are binary strings (one char per byte)
 * relative to the restore directory; `name` is the entry's path as stored,
 * for messages.
 */
export type WriteOp =
  /** Make a directory and its parents (see `makeDir`). */
  | { op: 'dir'; path: string; name: string }
  /** Create (or truncate) a file; the writes and the `end` that follow belong to it. */
  | { op: 'open'; path: string; name: string; mode: number }
  /** `length` bytes at `offset` of the batch's buffer, written at `position` in the open file. */
  | { op: 'write'; offset: number; length: number; position: number }
  /** Finish the open file: extend a sparse one to `truncate`, then owner (as root), mode (when open could not set it) and times; close it. */
  | { op: 'end'; truncate?: number; uid: number; gid: number; atime?: number; mtime?: number };

/** A step that failed, naming the entry it was for. */
export class WriteOpError extends Error {
  constructor(readonly entry: string, readonly original: NodeJS.ErrnoException) {
    super(original.message);
    this.name = 'WriteOpError';
  }
}

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const AS_ROOT = process.getuid?.() === 0;
/** A file this process creates belongs to its effective user and group (the restore directory is not setgid): no chown needed for those. */
const OWN_UID = process.geteuid?.() ?? -1;
const OWN_GID = process.getegid?.() ?? -1;

/** A binary-string path as the exact bytes the file system gets. */
const bytes = (path: string) => Buffer.from(path, 'latin1');

/**
 * Applies write steps with direct synchronous calls, on whatever thread it
 * runs (the writer's worker, or the main thread while the worker starts).
 * A file is created with O_EXCL and its stored permission bits, so most
 * files need no chmod; one whose bits the umask clears, one with setuid,
 * setgid or sticky bits, and one that was already there (an archive listing
 * the same name twice) get their mode set after the owner (as root), so a
 * chown does not clear them. Times come last.
 */
export class OpApplier {
  private fd?: number;
  /** The open file was made by this open with its stored permission bits, so no chmod is needed. */
  private exact = false;
  /** The open file was made by this open (not an earlier entry's file of the same name). */
  private created = false;
  private mode = 0;

  /** `root`: the restore directory, as a binary string; `umask`: the process's. */
  constructor(private readonly root: string, private readonly umask: number) {}

  private at(path: string): Buffer {
    return bytes(path ? `${this.root}/${path}` : this.root);
  }

  /** Applies `ops` (writes take their bytes from `data`); throws a WriteOpError at the first failure, closing the open file. */
  apply(ops: WriteOp[], data: Uint8Array): void {
    let entry = '';
    try {
      for (const o of ops) {
        switch (o.op) {
          case 'dir':
            entry = o.name;
            makeDir(this.root, o.path);
            break;
          case 'open':
            entry = o.name;
            this.open(o.path, o.mode);
            break;
          case 'write':
            for (let off = 0; off < o.length; ) off += writeSync(this.fd!, data, o.offset + off, o.length - off, o.position + off);
            break;
          case 'end':
            this.end(o);
            break;
        }
      }
    } catch (err) {
      this.abandon();
      throw new WriteOpError(entry, err as NodeJS.ErrnoException);
    }
  }

  /** Whether a file is open here (its remaining steps must be applied here too). */
  get busy(): boolean {
    return this.fd !== undefined;
  }

  /** Closes a file left open by a failure or an abort. */
  abandon(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // Already failing; the restore directory is removed.
    }
    this.fd = undefined;
  }

  private open(path: string, mode: number): void {
    this.abandon();
    const at = this.at(path);
    this.mode = mode & 0o7777;
    try {
      this.fd = openSync(at, CREATE_FLAGS, mode & 0o777);
      this.created = true;
      this.exact = (mode & 0o7000) === 0 && (mode & this.umask & 0o777) === 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.fd = openSync(at, WRITE_FLAGS, 0o600);
      this.created = false;
      this.exact = false;
    }
  }

  private end(o: Extract<WriteOp, { op: 'end' }>): void {
    const fd = this.fd!;
    this.fd = undefined;
    try {
      if (o.truncate !== undefined) ftruncateSync(fd, o.truncate);
      if (AS_ROOT && (o.uid !== OWN_UID || o.gid !== OWN_GID || !this.created)) fchownSync(fd, o.uid, o.gid);
      if (!this.exact) fchmodSync(fd, this.mode);
      if (o.mtime !== undefined) futimesSync(fd, o.atime ?? o.mtime, o.mtime);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Makes directory `path` (relative to `root`) and its parents, mode 0700
 * until the restore sets the stored modes; a file an earlier entry left in
 * the way is replaced (the later entry wins, as for same-named files).
 */
export function makeDir(root: string, path: string): void {
  const at = (p: string) => bytes(p ? `${root}/${p}` : root);
  try {
    mkdirSync(at(path), { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
    for (let i = path.indexOf('/'); ; i = path.indexOf('/', i + 1)) {
      const step = i === -1 ? path : path.slice(0, i);
      const s = lstatSync(at(step), { throwIfNoEntry: false });
      if (s && !s.isDirectory()) unlinkSync(at(step));
      if (!s?.isDirectory()) mkdirSync(at(step), { mode: 0o700 });
      if (i === -1) break;
    }
  }
}
