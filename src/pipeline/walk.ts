import { isUtf8 } from 'node:buffer';
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, realpathSync, type Dirent, type Stats } from 'node:fs';
import { excludePatterns } from '../util/exclude-patterns.js';
import { markerExclusion, type Exclusion } from './exclude.js';
import { OPEN_NOFOLLOW } from './open-flags.js';
import type { PreparedSource } from './sources/types.js';

export { OPEN_NOFOLLOW };
const OPEN_DIR = OPEN_NOFOLLOW | constants.O_DIRECTORY;

export interface WalkEntry {
  /** Path inside the archive (no trailing slash). Names that are not valid UTF-8 appear with U+FFFD here. */
  archivePath: string;
  /** The exact bytes of the archive path; set only when some name in it is not valid UTF-8. */
  rawArchivePath?: Buffer;
  /**
   * Reaches this entry through the already opened parent directory
   * (`/proc/self/fd/<fd>/<name>`), so no symlink swapped in above it is ever
   * followed. Valid only until the walk is resumed. Open it with
   * `OPEN_NOFOLLOW` and use the fstat of what was opened.
   */
  fsPath: string | Buffer;
  type: 'file' | 'dir' | 'symlink';
  /**
   * For directories the fstat of the opened directory, for symlinks their
   * lstat. For files only when the walk needed it (the source root, or a
   * file system without entry types); otherwise the reader fstats the file it opens.
   */
  stat?: Stats;
}

/** Where the walk reports what it could not store. */
export interface WalkReport {
  /** Stored differently from the disk, or skipped because it changed or vanished. */
  warn(path: string, message: string): void;
  /** Could not be read (permission denied, I/O error): the run must say so. */
  unreadable(path: string, message: string): void;
  /** Called after an entry was listed and before it is opened (lets tests change the tree at that exact point). */
  beforeOpen?(archivePath: string): void;
  /** An entry one of the source's exclusion rules left out (Ferry's own directories are not reported). */
  excluded?(archivePath: string, rule: Exclusion): void;
}

interface Name {
  text: string;
  raw?: Buffer;
}

/**
 * Depth-first walk of one source in a stable (byte-sorted) order: each
 * directory comes before its contents. A symlink at the source root is
 * followed (the source is what it points to); symlinks inside the tree are
 * entries of their own and never followed.
 *
 * What is left out, each reported through `report.excluded` with its rule:
 * paths the `exclude` patterns match (.gitignore rules, relative to the
 * source root, see `excludePatterns`), directories holding an
 * `exclude_if_present` marker or a valid CACHEDIR.TAG, the contents of
 * directories on another file system (`one_file_system`; the mount point
 * itself is stored, empty) and files larger than `exclude_larger_than`.
 * The source's automatic excludes (Ferry's own directories) are left out
 * silently. An excluded directory is not descended into, so a `!` pattern
 * cannot bring back something under it. The source root itself is never
 * excluded.
 *
 * The walk never reads outside the source: each directory is opened with
 * O_NOFOLLOW relative to its opened parent, and its entries are listed from
 * that open directory, so a directory swapped for a symlink while the walk
 * runs is reported and skipped, never followed. Entries that vanish are
 * skipped with a warning; sockets, FIFOs and devices likewise; entries that
 * cannot be read are reported as unreadable. One file descriptor is held per
 * directory level; memory holds one directory listing per level, never the
 * whole tree. Calls are synchronous: on a cached tree they are several times
 * faster than the same calls through the thread pool. Throws when /proc is
 * not mounted, since entries could then not be opened safely.
 */
export function* walkSource(source: PreparedSource, report: WalkReport): Generator<WalkEntry> {
  if (!existsSync('/proc/self/fd')) throw new Error('cannot read sources safely: /proc is not mounted (needed to open files relative to their directory)');
  const patterns = excludePatterns(source.exclude);
  const rules = source.rules;
  const auto = new Set((source.autoExclude ?? []).map((e) => e.path));
  let rootDev: number | undefined;
  /** Whether `rel` is left out by an automatic exclude or a pattern (reported). */
  const skip = (rel: string, archivePath: string, dir: boolean): boolean => {
    if (auto.has(rel)) return true;
    const pattern = patterns.excludedBy(rel, dir);
    if (pattern === undefined) return false;
    report.excluded?.(archivePath, { rule: 'exclude', pattern });
    return true;
  };

  function* visitDir(openPath: string | Buffer, rel: string, name: Name): Generator<WalkEntry> {
    report.beforeOpen?.(name.text);
    let fd: number;
    try {
      fd = openSync(openPath, OPEN_DIR);
    } catch (err) {
      return failed(name.text, 'directory', err);
    }
    try {
      const st = fstatSync(fd);
      const entry: WalkEntry = { archivePath: name.text, rawArchivePath: name.raw, fsPath: openPath, type: 'dir', stat: st };
      rootDev ??= st.dev;
      if (rules?.oneFileSystem && st.dev !== rootDev) {
        // A mount point: stored as an empty directory, so a restore recreates it.
        yield entry;
        report.excluded?.(name.text, { rule: 'one_file_system' });
        return;
      }
      const base = `/proc/self/fd/${fd}`;
      let dirents: Dirent<Buffer>[];
      try {
        dirents = readdirSync(base, { encoding: 'buffer', withFileTypes: true });
      } catch (err) {
        yield entry;
        report.unreadable(name.text, `directory could not be listed (${codeOf(err)}); its contents are not stored`);
        return;
      }
      const marker = rel === '' ? undefined : markerExclusion(base, dirents, rules);
      if (marker) {
        report.excluded?.(name.text, marker);
        return;
      }
      yield entry;
      dirents.sort((a, b) => Buffer.compare(a.name, b.name));
      for (const d of dirents) {
        const valid = isUtf8(d.name);
        const text = d.name.toString('utf8');
        const childRel = rel ? `${rel}/${text}` : text;
        const child: Name = { text: `${name.text}/${text}` };
        if (name.raw || !valid) child.raw = Buffer.concat([name.raw ?? Buffer.from(name.text), SLASH, d.name]);
        const childPath = valid ? `${base}/${text}` : Buffer.concat([Buffer.from(`${base}/`), d.name]);
        let type = d.isDirectory() ? 'dir' : d.isFile() ? 'file' : d.isSymbolicLink() ? 'symlink' : 'other';
        let st: Stats | undefined;
        if (type === 'other') {
          // Entry types are unknown on some file systems; lstat tells.
          try {
            st = lstatSync(childPath);
          } catch (err) {
            failed(child.text, 'entry', err);
            continue;
          }
          type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
        }
        if (skip(childRel, child.text, type === 'dir')) continue;
        if (type === 'dir') {
          yield* visitDir(childPath, childRel, child);
        } else if (type === 'file') {
          if (rules?.largerThan !== undefined) {
            try {
              st ??= lstatSync(childPath);
            } catch (err) {
              failed(child.text, 'file', err);
              continue;
            }
            if (st.size > rules.largerThan) {
              report.excluded?.(child.text, { rule: 'exclude_larger_than', limit: rules.largerThan });
              continue;
            }
          }
          report.beforeOpen?.(child.text);
          yield { archivePath: child.text, rawArchivePath: child.raw, fsPath: childPath, type: 'file', stat: st };
        } else if (type === 'symlink') {
          try {
            st ??= lstatSync(childPath);
          } catch (err) {
            failed(child.text, 'symlink', err);
            continue;
          }
          if (!st.isSymbolicLink()) report.warn(child.text, 'changed type while being read; not stored');
          else yield { archivePath: child.text, rawArchivePath: child.raw, fsPath: childPath, type: 'symlink', stat: st };
        } else {
          report.warn(child.text, 'not a regular file, directory or symlink; not stored');
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  function failed(path: string, what: string, err: unknown): void {
    const code = codeOf(err);
    if (code === 'ENOENT') report.warn(path, `vanished before it was read (${code}); not stored`);
    else if (code === 'ELOOP' || code === 'ENOTDIR') report.warn(path, `${what} was replaced while being read; not stored`);
    else report.unreadable(path, `${what} could not be read (${code}); not stored`);
  }

  // The root: a symlink there is followed, so the source is what it points to.
  let root: string;
  let st: Stats;
  try {
    root = realpathSync(source.fsPath);
    st = lstatSync(root);
  } catch (err) {
    return failed(source.as, 'source', err);
  }
  if (st.isDirectory()) yield* visitDir(root, '', { text: source.as });
  else if (st.isFile()) yield { archivePath: source.as, fsPath: root, type: 'file', stat: st };
  else report.warn(source.as, 'not a regular file, directory or symlink; not stored');
}

const SLASH = Buffer.from('/');

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}
