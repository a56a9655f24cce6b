import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import type { StoredFile } from '../pipeline/tar-writer.js';
import type { PreparedSource } from '../pipeline/sources/types.js';
import { OPEN_NOFOLLOW, type WalkEntry } from '../pipeline/walk.js';
import { sameStat, type FileRecord, type FileState, type FileStat } from './file-state.js';

/** What the tar writer asks while it writes an archive of a job with `incremental:`. */
export interface IncrementalHooks {
  /** The GNU dumpdir of a directory entry (README: Incremental archives), called before any of its contents. */
  dumpdir(entry: WalkEntry): Buffer;
  /** For a file entry: its inventory entry when it is unchanged since the previous archive (its bytes are then not stored), else undefined. */
  unchanged(entry: WalkEntry, source: PreparedSource): StoredFile | undefined;
  /** A file was stored in this archive; returns its inventory entry. */
  stored(entry: WalkEntry, file: StoredFile): StoredFile;
}

interface Kid {
  stat?: FileStat;
  /** Set when the file is unchanged: the previous archive's record of it. */
  same?: FileRecord;
}

interface Frame {
  key: string;
  kids: Map<string, Kid>;
}

/**
 * Change detection for one archive, as restic does it: a file is unchanged
 * when its size, mtime and ctime (nanoseconds), inode and mode equal the
 * previous archive's record, and is then left out with a `N` in its
 * directory's dumpdir; anything else is read again (`Y`). A source that is
 * one file made by Ferry (a database dump, command output) cannot be
 * compared that way and is left out only when its bytes hash the same.
 * Symlinks are small and always stored. The stat recorded for a stored file
 * is the one taken before it was read, so a file that changes while it is
 * read is read again next time. Memory holds one directory's decisions per
 * level of the walk; the per-file state lives in the SQLite files.
 */
export class ChangeTracker implements IncrementalHooks {
  private readonly stack: Frame[] = [];
  private readonly roots = new Map<string, Kid>();

  /** `previous` is undefined for a full archive; `archive` is the name of the one being written. */
  constructor(private readonly previous: FileState | undefined, private readonly next: FileState, private readonly archive: string) {}

  dumpdir(entry: WalkEntry): Buffer {
    const key = keyOf(entry);
    this.unwind(key);
    const frame: Frame = { key, kids: new Map() };
    const parts: Buffer[] = [];
    for (const child of entry.children ?? []) {
      const name = child.name.toString('latin1');
      if (child.type === 'dir') {
        parts.push(Buffer.from('D'), child.name, NUL);
        continue;
      }
      let code = 'Y';
      if (child.type === 'file') {
        const stat = statOf(child.fsPath);
        const before = this.previous?.lookup(Buffer.from(`${key}/${name}`, 'latin1'));
        const same = stat && before && sameStat(stat, before) ? before : undefined;
        if (same) code = 'N';
        frame.kids.set(name, { stat, same });
      }
      parts.push(Buffer.from(code), child.name, NUL);
    }
    parts.push(NUL);
    this.stack.push(frame);
    return Buffer.concat(parts);
  }

  unchanged(entry: WalkEntry, source: PreparedSource): StoredFile | undefined {
    const key = keyOf(entry);
    const kid = this.kidOf(key) ?? this.rootKid(entry, source, key);
    if (!kid.same) return undefined;
    this.next.record(Buffer.from(key, 'latin1'), { ...(kid.stat ?? kid.same), sha256: kid.same.sha256, archive: kid.same.archive });
    const file: StoredFile = { path: entry.archivePath, size: kid.same.size, sha256: kid.same.sha256, archive: kid.same.archive };
    if (entry.rawArchivePath) file.path_b64 = entry.rawArchivePath.toString('base64');
    return file;
  }

  stored(entry: WalkEntry, file: StoredFile): StoredFile {
    const key = keyOf(entry);
    const stat = this.kidOf(key)?.stat ?? this.roots.get(key)?.stat;
    if (stat) this.next.record(Buffer.from(key, 'latin1'), { ...stat, sha256: file.sha256, archive: this.archive });
    return { ...file, archive: this.archive };
  }

  /** Drops the frames of directories the walk has left. */
  private unwind(key: string): void {
    while (this.stack.length && !key.startsWith(`${this.stack.at(-1)!.key}/`)) this.stack.pop();
  }

  private kidOf(key: string): Kid | undefined {
    this.unwind(key);
    const top = this.stack.at(-1);
    const slash = key.lastIndexOf('/');
    if (!top || top.key !== key.slice(0, slash)) return undefined;
    return top.kids.get(key.slice(slash + 1));
  }

  /** A source that is a single file: compared by stat for a path source, by its hash for what Ferry made. */
  private rootKid(entry: WalkEntry, source: PreparedSource, key: string): Kid {
    const before = this.previous?.lookup(Buffer.from(key, 'latin1'));
    let kid: Kid;
    if (source.kind === 'path') {
      const stat = statOf(entry.fsPath);
      kid = { stat, same: stat && before && sameStat(stat, before) ? before : undefined };
    } else {
      const sha256 = hashFile(entry.fsPath);
      const stat: FileStat = { size: -1, mtimeNs: '', ctimeNs: '', ino: '', mode: 0 };
      kid = { stat, same: sha256 && before?.sha256 === sha256 ? before : undefined };
    }
    this.roots.set(key, kid);
    return kid;
  }
}

const NUL = Buffer.alloc(1);

/** The exact path bytes inside the archive, as a binary string (one char per byte). */
function keyOf(entry: WalkEntry): string {
  return (entry.rawArchivePath ?? Buffer.from(entry.archivePath)).toString('latin1');
}

function statOf(path: string | Buffer): FileStat | undefined {
  let st: BigIntStats;
  try {
    st = lstatSync(path, { bigint: true });
  } catch {
    return undefined;
  }
  if (!st.isFile()) return undefined;
  return { size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), ino: String(st.ino), mode: Number(st.mode) };
}

/** sha256 of a file Ferry made for this run (read in 1 MiB blocks), or undefined when it cannot be read. */
function hashFile(path: string | Buffer): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, OPEN_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
    return hash.digest('hex');
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
