import { readdirSync, rmSync } from 'node:fs';
import { chmodSync, chownSync, linkSync, lstatSync, lutimesSync, symlinkSync, unlinkSync, utimesSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { UnsafeEntryError } from '../errors.js';
import { EntryChecker, normalisePath } from './entry-check.js';
import { display, readTarEntries, type TarEntry } from './tar-reader.js';
import { pathSelector } from './select-paths.js';
import { FileWriter } from './file-writer.js';
import { makeDir, WriteOpError } from './write-ops.js';

export interface ExtractOptions {
  /** Patterns over archive paths (see `pathSelector`); only selected entries (and their contents) are extracted. */
  only?: string[];
  /** Archive paths not to extract (the inventory files, which are metadata), matched byte for byte. */
  skip?: string[];
  /**
   * Restoring an incremental chain into the same directory, archive by
   * archive: a directory entry with a dumpdir removes whatever its directory
   * holds that the dumpdir does not list, as `tar --listed-incremental`
   * does (selected by `only` or not), so deletions and renames are restored.
   */
  purge?: boolean;
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

const AS_ROOT = process.getuid?.() === 0;

/** A binary-string path (one char per byte) as the exact bytes the file system gets. */
const bytes = (path: string) => Buffer.from(path, 'latin1');
/** A binary-string path as text, for globs and messages (lossy for names that are not UTF-8). */
const text = (path: string) => Buffer.from(path, 'latin1').toString('utf8');

/**
 * Extracts a plain tar stream into `dir`, an empty temporary directory that
 * nothing else writes to. The stream is read by `readTarEntries` (names as
 * exact bytes, sparse members, foreign archives); directories and files are
 * written in archive order by a `FileWriter`, on a worker thread, with
 * direct synchronous calls (on many small files several times faster than
 * going through the thread pool for every step).
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
  try {
    for await (const entry of readTarEntries(input)) await x.take(entry);
    await x.filesWritten();
  } finally {
    await x.writer.dispose();
  }
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
  readonly writer: FileWriter;
  private readonly made = new Set<string>(['']);
  // With `--only`: unselected directory entries that are ancestors of the latest entry (at most one per
  // depth, as archives list parents first); when a selected entry follows, they are restored with it.
  private readonly ancestors = new Map<string, DirMeta>();
  private readonly parents = new Map<string, DirMeta>();

  constructor(dir: string, private readonly options: ExtractOptions) {
    this.only = options.only?.length ? pathSelector(options.only) : undefined;
    // As binary strings, like entry paths: no decoding per entry.
    this.skip = new Set((options.skip ?? []).map((p) => Buffer.from(p, 'utf8').toString('latin1')));
    this.root = Buffer.from(dir).toString('latin1');
    this.writer = new FileWriter(this.root);
  }

  private at(path: string): Buffer {
    return bytes(path ? `${this.root}/${path}` : this.root);
  }

  /** Step 1, per entry in archive order: check it, select it, write a file or directory, or defer a link. */
  async take(entry: TarEntry): Promise<void> {
    const path = this.checker.admit(entry);
    if (path && this.options.purge && entry.dumpdir !== undefined) {
      await this.writer.flush().catch(failedEntry);
      purgeDirectory(this.at(path), entry.dumpdir);
    }
    if (!path || !this.select(entry, path)) return;
    try {
      for (const w of entry.warnings) this.options.onWarning?.(text(path), w);
      this.symlinks.delete(path);
      this.hardlinks.delete(path);
      switch (entry.type) {
        case 'Directory':
          await this.queueDir(path, entry.path);
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
          await this.queueDir(parentOf(path), entry.path);
          await this.writer.file(entry, path);
          this.result.files++;
          this.options.onFile?.(entry.size);
          break;
        default:
          this.options.onWarning?.(text(path), `${entry.type} entries are not restored`);
      }
    } catch (err) {
      failedEntry(err, entry.path);
    }
  }

  /** Step 1 ends: every queued directory and file is written (a failure names its entry). */
  async filesWritten(): Promise<void> {
    await this.writer.close().catch(failedEntry);
  }

  /** Whether the entry is restored (`only`, `skip`); with `only`, remembers the directories above a later selected entry. */
  private select(entry: TarEntry, path: string): boolean {
    const { only, skip, ancestors } = this;
    if (only) {
      for (const key of ancestors.keys()) if (!path.startsWith(`${key}/`)) ancestors.delete(key);
    }
    const skipped = skip.has(path);
    if (skipped || (only && !only(text(path)))) {
      if (only && entry.type === 'Directory' && !skipped) ancestors.set(path, dirMeta(entry));
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

  /** During step 1: has the writer make a directory and its parents, once (see `makeDir`). */
  private async queueDir(path: string, name: string): Promise<void> {
    if (this.made.has(path)) return;
    this.made.add(path);
    await this.writer.dir(path, name);
  }

  /** After step 1: makes a directory and its parents here. */
  private ensureDir(path: string): void {
    if (this.made.has(path)) return;
    makeDir(this.root, path);
    this.made.add(path);
  }
}

/**
 * Removes from `dir` (when it is a directory) every entry its `dumpdir` does
 * not list, or lists as another kind (`D` for a directory, `Y`/`N` for
 * anything else), and every symlink (each archive of a chain stores all of
 * them again). The directory is made writable first; its stored mode is set
 * once the archive is extracted.
 */
function purgeDirectory(dir: Buffer, dumpdir: string): void {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) return;
  const listed = new Map<string, string>();
  for (const item of dumpdir.split('\0')) if (item.length > 1) listed.set(item.slice(1), item[0]!);
  chmodSync(dir, 0o700);
  for (const name of readdirSync(dir, { encoding: 'buffer' })) {
    const path = Buffer.concat([dir, SLASH, name]);
    const kind = listed.get(name.toString('latin1'));
    const child = lstatSync(path);
    const keep = kind === 'D' ? child.isDirectory() : (kind === 'Y' || kind === 'N') && !child.isDirectory() && !child.isSymbolicLink();
    if (!keep) rmSync(path, { recursive: true, force: true });
  }
}

const SLASH = Buffer.from('/');

function dirMeta(entry: TarEntry): DirMeta {
  return { name: entry.path, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime };
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

/** Rethrows a failure as the error of the entry it happened on (a queued write names its own entry). */
function failedEntry(err: unknown, current?: string): never {
  if (err instanceof WriteOpError) throw entryError(err.entry, err.original);
  if (current === undefined) throw err;
  throw entryError(current, err);
}

/** A failure while restoring an entry, naming it; the file system's own message (EEXIST, EINVAL...) is kept, without our temporary path. */
function entryError(path: string, err: unknown): Error {
  if (err instanceof UnsafeEntryError) return err;
  const e = err as NodeJS.ErrnoException;
  const reason = e.code ? `${e.code}${e.syscall ? ` (${e.syscall})` : ''}: ${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ .*$/, '')}` : e.message;
  return new Error(`cannot restore archive entry ${display(path)}: ${reason}`, { cause: err });
}
