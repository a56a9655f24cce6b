import type { Readable } from 'node:stream';
import type { OpOptions } from './adapter.js';

/** What a tree target reports about one entry. */
export interface TreeStat {
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mtimeMs: number;
  /** Permission bits, setuid/setgid/sticky included (`mode & 0o7777`). */
  mode: number;
}

export interface TreeDirent {
  /** The name as text (a name that is not valid UTF-8 shows U+FFFD here). */
  name: string;
  /** The name's exact bytes; set only when they are not valid UTF-8 (and the target keeps such names, `rawNames`). */
  raw?: Buffer;
  type: TreeStat['type'];
}

/**
 * A path relative to the target's root. A Buffer holds the path's exact
 * bytes: the core passes one only when some name in it is not valid UTF-8
 * (file names are kept byte for byte, README: The archive).
 */
export type TreePath = string | Buffer;

/** A TreePath as text, for messages. */
export function showPath(path: TreePath): string {
  return typeof path === 'string' ? path : path.toString('utf8');
}

/** `dir/rel`, as bytes when `raw` (the exact bytes of `rel`) is given. */
export function joinTreePath(dir: string, rel: string, raw?: Buffer): TreePath {
  return raw ? Buffer.concat([Buffer.from(`${dir}/`), raw]) : `${dir}/${rel}`;
}

/**
 * A target that keeps snapshots as plain directory trees (`format: tree`).
 * Like `StorageAdapter` it only moves bytes: naming, link-or-copy
 * decisions, manifests and retention belong to the core (`src/tree/`).
 *
 * Paths are relative to the target's root, `/`-separated, never absolute
 * and never with `..` (the core builds them). Every method rejects with a
 * `StorageError` that names the path; a missing path is NOT_FOUND.
 */
export interface TreeAdapter {
  /** The target's name from `targets:` in the config. */
  readonly name: string;
  /** Resolution of the mtimes this target stores, in ms (1000 over SFTP): link decisions compare mtimes at this resolution. */
  readonly mtimeResolutionMs: number;
  /**
   * Whether the target stores and lists names that are not valid UTF-8 byte
   * for byte (Buffer paths, `TreeDirent.raw`). Without it the core never
   * passes such a path: the file is reported as not stored, naming why.
   */
  readonly rawNames: boolean;

  /** Entries of a directory (the root: ''), unsorted. A missing root lists as empty; any other missing directory is NOT_FOUND. */
  readdir(path: TreePath, options?: OpOptions): Promise<TreeDirent[]>;
  /** Like lstat(2): never follows a final symlink. Resolves undefined when the path does not exist. */
  lstat(path: TreePath, options?: OpOptions): Promise<TreeStat | undefined>;
  /** Creates one directory (its parent exists); the root is created, with its parents, when `path` is ''. */
  mkdir(path: TreePath, mode: number, options?: OpOptions): Promise<void>;
  /** Creates a new file from `data` (EXISTS when the path exists) and resolves with the bytes written. Not atomic: only used inside an uncommitted snapshot. */
  writeFile(path: TreePath, data: Readable, mode: number, options?: OpOptions): Promise<number>;
  /**
   * Stores `data` under `path` atomically and exclusively: a temporary name,
   * then a non-replacing commit (EXISTS when `path` exists, which is then
   * untouched). Used for manifests, the commit marks.
   */
  putFile(path: string, data: Buffer, options?: OpOptions): Promise<void>;
  /** Hard-links `path` to the existing file `existing`. */
  link(existing: TreePath, path: TreePath, options?: OpOptions): Promise<void>;
  /**
   * Creates a symlink; a Buffer `linkTarget` holds its exact bytes (only when
   * they are not valid UTF-8). With `mtime`, the link itself gets that mtime
   * (over SFTP only where the server has lsetstat@openssh.com).
   */
  symlink(linkTarget: TreePath, path: TreePath, options?: OpOptions & { mtime?: Date }): Promise<void>;
  /** A symlink's target, as its exact bytes. */
  readlink(path: TreePath, options?: OpOptions): Promise<Buffer>;
  /** Sets mode and mtime of a file or directory (never follows a symlink; symlinks are left as made). */
  setAttributes(path: TreePath, mode: number, mtime: Date, options?: OpOptions): Promise<void>;
  /** Opens a file for reading. */
  readFile(path: TreePath, options?: OpOptions): Promise<Readable>;
  /** Renames without replacing: EXISTS when `to` exists. */
  rename(from: string, to: string, options?: OpOptions): Promise<void>;
  /** Deletes a directory tree. Idempotent. */
  removeTree(path: string, options?: OpOptions): Promise<void>;
  /** Deletes a file or symlink. Idempotent. */
  remove(path: string, options?: OpOptions): Promise<void>;
  /** Points the symlink `path` at `linkTarget`, replacing it atomically. */
  replaceSymlink(path: string, linkTarget: string, options?: OpOptions): Promise<void>;
  /**
   * Optional: copies one whole source into the snapshot at once, hard-linking
   * what is unchanged in the previous snapshot itself (rsync `--link-dest`).
   * The core then only lists the source in the inventory. Resolves with
   * the files copied and their bytes (the others were linked), and `sent`,
   * the paths of the copied files relative to `local`, when each of them
   * could be told exactly (undefined otherwise): a file not in it was linked
   * to the previous snapshot, so its sha256 there still holds.
   */
  syncSource?(source: SyncSource, options?: OpOptions): Promise<{ files: number; bytes: number; sent?: Set<string> }>;
  /**
   * Optional: why this target is absent right now (an optional drive that is
   * not mounted), or undefined when it is there, as `StorageAdapter.absent`.
   * A run skips an absent target.
   */
  absent?(options?: OpOptions): Promise<string | undefined>;
  /** Readiness checks for `ferry check` (writable, hard links supported, mounted). Rejects with a StorageError. */
  probe(options?: OpOptions): Promise<string[]>;
  /** Releases connections. Safe to call more than once. */
  close?(): Promise<void>;
}

/** One source as `TreeAdapter.syncSource` sends it. */
export interface SyncSource {
  /** The file or directory on this machine. */
  local: string;
  isDir: boolean;
  /** Where it goes, relative to the target's root (`<snapshot temp dir>/<as>`). */
  dest: string;
  /** The same path in the previous complete snapshot, when there is one. */
  previous?: string;
  /** Paths relative to `local` to leave out (globs as in the config). */
  exclude: string[];
  /** Link a file only when its content matches too, not just its size and mtime (`verify_unchanged: hash`). */
  compareContent: boolean;
}
