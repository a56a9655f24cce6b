import { chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, futimesSync, linkSync, lutimesSync, mkdirSync, openSync, symlinkSync, utimesSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { pathSelector } from './select-paths.js';

export interface ExtractOptions {
  /** Patterns over archive paths (see `pathSelector`); only selected entries (and their contents) are extracted. */
  only?: string[];
  /** Archive paths not to extract (the inventory files, which are metadata). */
  skip?: string[];
  /** Called for entries that are skipped because Ferry does not restore their type (devices, FIFOs). */
  onWarning?(path: string, message: string): void;
}

export interface ExtractResult {
  files: number;
  directories: number;
  symlinks: number;
}

interface Deferred {
  path: string;
  target: string;
  mtime?: Date;
}

interface DirMeta {
  path: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
}

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
const AS_ROOT = process.getuid?.() === 0;

/**
 * Extracts a plain tar stream into `dir`, an empty temporary directory that
 * nothing else writes to. node-tar parses the headers; the writing is done
 * here with direct synchronous calls, which on many small files is several
 * times faster than going through the thread pool for every step.
 *
 * Refused, failing the whole extraction: absolute paths, `..` segments, and
 * an entry whose path passes through a symlink stored earlier in the archive.
 * Symlinks and hard links are created only after every other entry is
 * written, so no entry can be written through one, and a hard link may only
 * point at a path inside `dir`. Symlink targets are kept exactly as stored.
 * Files are opened with O_NOFOLLOW. Modes, owners (when run as root) and
 * mtimes are restored; directories last, deepest first, so writing their
 * contents does not disturb their mtime and a read-only directory is filled
 * before it becomes read-only.
 */
export async function extractTar(input: Readable, dir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const only = options.only?.length ? pathSelector(options.only) : undefined;
  const skip = new Set(options.skip ?? []);
  const symlinks: Deferred[] = [];
  const hardlinks: Deferred[] = [];
  const linkPaths = new Set<string>();
  const dirs: DirMeta[] = [];
  const made = new Set<string>([dir]);
  const result: ExtractResult = { files: 0, directories: 0, symlinks: 0 };
  let failure: Error | undefined;

  const ensureDir = (path: string) => {
    if (made.has(path)) return;
    mkdirSync(path, { recursive: true, mode: 0o700 });
    made.add(path);
  };
  const wanted = (clean: string, _e: ReadEntry) => !skip.has(clean) && (!only || only(clean));

  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      const clean = entry.path.replace(/\/+$/, '');
      try {
        if (failure) return entry.resume();
        const problem = checkPath(clean, linkPaths) ?? (entry.type === 'Link' ? checkLinkTarget(String(entry.linkpath)) : undefined);
        if (problem) throw new Error(`refusing archive entry "${entry.path}": ${problem}`);
        if (!clean || !wanted(clean, entry)) return entry.resume();
        const at = join(dir, clean);
        switch (entry.type) {
          case 'Directory':
            ensureDir(at);
            dirs.push({ path: at, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: entry.mtime });
            return entry.resume();
          case 'SymbolicLink':
            symlinks.push({ path: at, target: String(entry.linkpath), mtime: entry.mtime });
            linkPaths.add(clean);
            return entry.resume();
          case 'Link':
            hardlinks.push({ path: at, target: join(dir, posix.normalize(String(entry.linkpath))) });
            return entry.resume();
          case 'File':
          case 'OldFile':
          case 'ContiguousFile':
            return writeFile(entry, at);
          default:
            options.onWarning?.(clean, `${entry.type} entries are not restored`);
            return entry.resume();
        }
      } catch (err) {
        fail(err as Error);
        entry.resume();
      }
    },
  });

  function writeFile(entry: ReadEntry, at: string): void {
    ensureDir(dirname(at));
    const fd = openSync(at, WRITE_FLAGS, 0o600);
    let open = true;
    const close = () => {
      if (open) closeSync(fd);
      open = false;
    };
    entry.on('data', (chunk: Buffer) => {
      if (!open) return;
      try {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      } catch (err) {
        close();
        fail(err as Error);
      }
    });
    entry.on('end', () => {
      if (!open) return;
      try {
        if (entry.mode !== undefined) fchmodSync(fd, entry.mode & 0o7777);
        if (AS_ROOT && entry.uid !== undefined && entry.gid !== undefined) fchownSync(fd, entry.uid, entry.gid);
        if (entry.mtime) futimesSync(fd, entry.atime ?? entry.mtime, entry.mtime);
        result.files++;
      } catch (err) {
        fail(err as Error);
      } finally {
        close();
      }
    });
  }

  function fail(err: Error): void {
    if (failure) return;
    failure = err;
    parser.abort(err);
  }

  await new Promise<void>((resolve, reject) => {
    parser.on('error', (err: Error) => reject(failure ?? err));
    input.on('error', reject);
    parser.on('end', resolve);
    input.pipe(parser);
  });
  if (failure) throw failure;

  for (const link of hardlinks) {
    ensureDir(dirname(link.path));
    linkSync(link.target, link.path);
  }
  for (const link of symlinks) {
    ensureDir(dirname(link.path));
    symlinkSync(link.target, link.path);
    if (link.mtime) lutimesSync(link.path, link.mtime, link.mtime);
  }
  dirs.sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const d of dirs) {
    if (AS_ROOT && d.uid !== undefined && d.gid !== undefined) chownSync(d.path, d.uid, d.gid);
    if (d.mode !== undefined) chmodSync(d.path, d.mode & 0o7777);
    if (d.mtime) utimesSync(d.path, d.mtime, d.mtime);
  }
  result.directories = dirs.length;
  result.symlinks = symlinks.length;
  return result;
}

/** Why a path may not be extracted, or undefined when it is fine. */
function checkPath(path: string, links: Set<string>): string | undefined {
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path)) return 'absolute path';
  const parts = path.split('/');
  if (parts.includes('..')) return 'path contains ".."';
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (links.has(prefix)) return `it would be written through the symlink "${prefix}"`;
  }
  return undefined;
}

/** A hard link must point at another entry inside the destination. */
function checkLinkTarget(target: string): string | undefined {
  if (isAbsolute(target) || target.split('/').includes('..')) return `hard link to "${target}" leaves the destination`;
  return undefined;
}
