import { chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, ftruncateSync, futimesSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, symlinkSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { UnsafeEntryError } from '../errors.js';
import { EntryChecker, normalisePath } from './entry-check.js';
import { display, readTarEntries, type TarEntry } from './tar-reader.js';
import { pathSelector } from './select-paths.js';

export interface ExtractOptions {
  /** Patterns over archive paths (see `pathSelector`); only selected entries (and their contents) are extracted. */
  only?: string[];
  /** Archive paths not to extract (the inventory files, which are metadata). */
  skip?: string[];
  /** Called for entries restored with a caveat, or skipped because Ferry does not restore their type (devices, FIFOs). */
  onWarning?(path: string, message: string): void;
  /** Called after each file is written, with its size. */
  onFile?(bytes: number): void;
}

export interface ExtractResult {
  files: number;
  directories: number;
  symlinks: number;
}

interface Deferred {
  /** The entry's path as stored, for messages. */
  name: string;
  target: string;
  mtime?: number;
}

interface DirMeta {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  mtime?: number;
}

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
const AS_ROOT = process.getuid?.() === 0;

/** A binary-string path (one char per byte) as the exact bytes the file system gets. */
const bytes = (path: string) => Buffer.from(path, 'latin1');
/** A binary-string path as text, for globs and messages (lossy for names that are not UTF-8). */
const text = (path: string) => Buffer.from(path, 'latin1').toString('utf8');

/**
 * Extracts a plain tar stream into `dir`, an empty temporary directory that
 * nothing else writes to. The stream is read by `readTarEntries` (names as
 * exact bytes, sparse members, foreign archives); writing is done here with
 * direct synchronous calls, which on many small files is several times
 * faster than going through the thread pool for every step.
 *
 * Every entry first passes the checks shared with verify (`EntryChecker`,
 * on the normalised path, whatever its spelling); a refused entry fails the
 * whole extraction. Symlinks and hard links are created only after every
 * other entry is written, so no entry can be written through one; during
 * the writing `dir` holds no symlinks at all. Symlink targets are kept
 * exactly as stored. Files are opened with O_NOFOLLOW. Owners (as root),
 * then modes (setuid, setgid and sticky included, which a chown after the
 * chmod would clear), then mtimes are restored; directories last, deepest
 * first, so writing their contents does not disturb their mtime and a
 * read-only directory is filled before it becomes read-only. With `only`,
 * the directories the archive lists above a selected entry get their stored
 * owner, mode and mtime too (they are not counted in the result). Any failure
 * names the entry it happened on.
 */
export async function extractTar(input: Readable, dir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const x = new Extraction(dir, options);
  for await (const entry of readTarEntries(input)) await x.take(entry);
  x.checkLinks();
  x.makeHardLinks();
  x.makeSymlinks();
  x.finishDirectories();
  return x.result;
}

/** The state of one `extractTar`, and its steps in the order they run. */
class Extraction {
  readonly result: ExtractResult = { files: 0, directories: 0, symlinks: 0 };
  private readonly only?: (path: string) => boolean;
  private readonly skip: Set<string>;
  private readonly checker = new EntryChecker();
  private readonly symlinks = new Map<string, Deferred>();
  private readonly hardlinks = new Map<string, Deferred>();
  private readonly dirs = new Map<string, DirMeta>();
  private readonly root: string;
  private readonly made = new Set<string>(['']);
  // With `--only`: unselected directory entries that are ancestors of the latest entry (at most one per
  // depth, as archives list parents first); when a selected entry follows, they are restored with it.
  private readonly ancestors = new Map<string, DirMeta>();
  private readonly parents = new Map<string, DirMeta>();

  constructor(dir: string, private readonly options: ExtractOptions) {
    this.only = options.only?.length ? pathSelector(options.only) : undefined;
    this.skip = new Set(options.skip ?? []);
    this.root = Buffer.from(dir).toString('latin1');
  }

  private at(path: string): Buffer {
    return bytes(path ? `${this.root}/${path}` : this.root);
  }

  /** Step 1, per entry in archive order: check it, select it, write a file or directory, or defer a link. */
  async take(entry: TarEntry): Promise<void> {
    const path = this.checker.admit(entry);
    if (!path || !this.select(entry, path)) return;
    try {
      for (const w of entry.warnings) this.options.onWarning?.(text(path), w);
      this.symlinks.delete(path);
      this.hardlinks.delete(path);
      switch (entry.type) {
        case 'Directory':
          this.ensureDir(path);
          this.dirs.delete(path);
          this.dirs.set(path, dirMeta(entry));
          break;
        case 'SymbolicLink':
          this.symlinks.set(path, { name: entry.path, target: entry.linkpath ?? '', mtime: entry.mtime });
          break;
        case 'Link':
          this.hardlinks.set(path, { name: entry.path, target: normalisePath(entry.linkpath ?? '') });
          break;
        case 'File':
        case 'ContiguousFile':
          this.ensureDir(parentOf(path));
          await writeFile(entry, this.at(path));
          this.result.files++;
          this.options.onFile?.(entry.size);
          break;
        default:
          this.options.onWarning?.(text(path), `${entry.type} entries are not restored`);
      }
    } catch (err) {
      throw entryError(entry.path, err);
    }
  }

  /** Whether the entry is restored (`only`, `skip`); with `only`, remembers the directories above a later selected entry. */
  private select(entry: TarEntry, path: string): boolean {
    const { only, skip, ancestors } = this;
    if (only) {
      for (const key of ancestors.keys()) if (!path.startsWith(`${key}/`)) ancestors.delete(key);
    }
    if (skip.has(text(path)) || (only && !only(text(path)))) {
      if (only && entry.type === 'Directory' && !skip.has(text(path))) ancestors.set(path, dirMeta(entry));
      return false;
    }
    for (const [key, meta] of ancestors) this.parents.set(key, meta);
    ancestors.clear();
    return true;
  }

  /** Step 2: the checks that need the whole archive (hard links to entries stored after them). */
  checkLinks(): void {
    this.checker.finish();
  }

  /** Step 3: hard links, now that every file they point to is written. */
  makeHardLinks(): void {
    for (const [path, link] of this.hardlinks) {
      try {
        this.ensureDir(parentOf(path));
        replacing(this.at(path), () => linkSync(this.at(link.target), this.at(path)));
      } catch (err) {
        throw entryError(link.name, err);
      }
    }
  }

  /** Step 4: symlinks, last of all entries, so nothing was written through one. */
  makeSymlinks(): void {
    for (const [path, link] of this.symlinks) {
      try {
        this.ensureDir(parentOf(path));
        replacing(this.at(path), () => symlinkSync(bytes(link.target), this.at(path)));
        if (link.mtime !== undefined) lutimesSync(this.at(path), link.mtime, link.mtime);
      } catch (err) {
        throw entryError(link.name, err);
      }
    }
    this.result.symlinks = this.symlinks.size;
  }

  /** Step 5: directories' owner, mode and mtime, deepest first (with `only`, their stored parents too). */
  finishDirectories(): void {
    for (const key of this.dirs.keys()) this.parents.delete(key);
    const deepestFirst = [...this.parents, ...this.dirs].sort(([a], [b]) => b.split('/').length - a.split('/').length);
    for (const [path, d] of deepestFirst) {
      try {
        if (AS_ROOT) chownSync(this.at(path), d.uid, d.gid);
        chmodSync(this.at(path), d.mode & 0o7777);
        if (d.mtime !== undefined) utimesSync(this.at(path), d.mtime, d.mtime);
      } catch (err) {
        throw entryError(d.name, err);
      }
    }
    this.result.directories = this.dirs.size;
  }

  /** Makes a directory and its parents; a file an earlier entry left in the way is replaced (the later entry wins, as for same-named files). */
  private ensureDir(path: string): void {
    if (this.made.has(path)) return;
    try {
      mkdirSync(this.at(path), { recursive: true, mode: 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
      for (let i = path.indexOf('/'); ; i = path.indexOf('/', i + 1)) {
        const step = i === -1 ? path : path.slice(0, i);
        const s = lstatSync(this.at(step), { throwIfNoEntry: false });
        if (s && !s.isDirectory()) unlinkSync(this.at(step));
        if (!s?.isDirectory()) mkdirSync(this.at(step), { mode: 0o700 });
        if (i === -1) break;
      }
    }
    this.made.add(path);
  }
}

function dirMeta(entry: TarEntry): DirMeta {
  return { name: entry.path, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime };
}

/** Writes one file's content (holes stay holes), then owner, mode and times, in that order. */
async function writeFile(entry: TarEntry, path: Buffer): Promise<void> {
  const fd = openSync(path, WRITE_FLAGS, 0o600);
  const put = (data: Buffer, position: number) => {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off, position + off);
  };
  try {
    const whole = entry.whole();
    if (whole) put(whole, 0);
    else for await (const { data, position } of entry.chunks()) put(data, position);
    if (entry.sparse) ftruncateSync(fd, entry.size);
    if (AS_ROOT) fchownSync(fd, entry.uid, entry.gid);
    fchmodSync(fd, entry.mode & 0o7777);
    if (entry.mtime !== undefined) futimesSync(fd, entry.atime ?? entry.mtime, entry.mtime);
  } finally {
    closeSync(fd);
  }
}

/** Runs `make`; if something that is not a directory is in the way (an earlier entry of the same name), it is replaced, as tar does. */
function replacing(path: Buffer, make: () => void): void {
  try {
    make();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || lstatSync(path).isDirectory()) throw err;
    unlinkSync(path);
    make();
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? '' : path.slice(0, i);
}

/** A failure while restoring an entry, naming it; the file system's own message (EEXIST, EINVAL...) is kept, without our temporary path. */
function entryError(path: string, err: unknown): Error {
  if (err instanceof UnsafeEntryError) return err;
  const e = err as NodeJS.ErrnoException;
  const reason = e.code ? `${e.code}${e.syscall ? ` (${e.syscall})` : ''}: ${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ .*$/, '')}` : e.message;
  return new Error(`cannot restore archive entry ${display(path)}: ${reason}`, { cause: err });
}
