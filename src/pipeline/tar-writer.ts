import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { close, read } from 'node:fs';
import { promisify } from 'node:util';
import type { HeaderData } from 'tar';
import { encodeHeader } from './tar-header.js';
import { TarBatch } from './tar-batch.js';
import type { IndexEntry } from '../index/format.js';
import { OPEN_NOFOLLOW, walkSource, type WalkEntry, type WalkReport } from './walk.js';
import type { Exclusion } from './exclude.js';
import type { PreparedSource } from './sources/types.js';
import type { IncrementalHooks } from '../incremental/tracker.js';
import { mtimeOf } from '../util/stat-time.js';

const readAsync = (fd: number, buf: Buffer, off: number, len: number, pos: number) =>
  new Promise<number>((resolve, reject) => read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
const closeAsync = promisify(close);
const BLOCK = 512;
const READ_CHUNK = 1 << 20;
/** Files up to this size are read whole, in one go. */
const SMALL_FILE = 256 * 1024;
const BATCH = 256 * 1024;

/** One file as stored: what the inventory lists. */
export interface StoredFile {
  /** Path inside the archive; a name that is not valid UTF-8 shows U+FFFD here. */
  path: string;
  /** base64 of the exact path bytes; present only when the path is not valid UTF-8. */
  path_b64?: string;
  size: number;
  sha256: string;
  /** With `incremental:`: the archive that holds the file's bytes (this one, or one earlier in its chain). */
  archive?: string;
}

export interface TarWriterEvents {
  /** A file was stored (after its last byte). */
  onFile?(file: StoredFile, source: PreparedSource): void;
  /** Something was stored differently from the disk, or skipped. The archive stays valid. */
  onWarning?(path: string, message: string): void;
  /** A file or directory could not be read (permission denied, I/O error); it is not stored, or stored zero-padded. */
  onUnreadable?(path: string, message: string): void;
  /** Called after the walk listed an entry and before it is opened (a seam for tests that race the walk). */
  beforeOpen?(archivePath: string): void;
  /** Bytes of file content read from disk. */
  onRead?(bytes: number): void;
  /** Any entry was stored (directories, symlinks, files after their last byte, the trailing files): what the index sidecar lists. */
  onIndexed?(entry: IndexEntry): void;
  /** An exclusion rule of `source` left an entry out. */
  onExcluded?(path: string, rule: Exclusion, source: PreparedSource): void;
  /**
   * An entry goes into the archive (before its content). A returned promise
   * is awaited before the archive goes on, so a slow consumer holds the
   * walk back instead of queueing entries in memory.
   */
  onEntry?(entry: StoredEntry): void | Promise<void>;
  /** With `incremental:`: dumpdirs for directories, and unchanged files left out (src/incremental/tracker.ts). */
  incremental?: IncrementalHooks;
}

/** One entry as it goes into the archive: what `ferry run --dry-run --list` prints. */
export interface StoredEntry {
  path: string;
  /** The exact path bytes, when the path is not valid UTF-8. */
  rawPath?: Buffer;
  type: 'file' | 'dir' | 'symlink';
  size: number;
}

/** A file appended after the sources (the inventory): its whole `data`, or `size` bytes streamed from `chunks()`. */
export type TrailingFile = { path: string; data: Buffer } | { path: string; size: number; chunks(): AsyncIterable<Buffer> };

/**
 * Streams a POSIX tar (ustar, pax headers where needed) of the prepared
 * sources, each under its `as` path, then `trailing()` files, then the two
 * end-of-archive blocks.
 *
 * A file that changes while it is read never corrupts the archive: the header
 * carries the size seen when the file was opened; a file that shrinks is
 * padded with zeros, one that grows is cut at that size, one that vanished
 * is skipped, and each case is reported through `onWarning`. A file or
 * directory that cannot be read is reported through `onUnreadable` and left
 * out (a large file that fails mid-read is stored zero-padded from there).
 * Entries are read as `walkSource` finds them, never through a symlink, and
 * names that are not valid UTF-8 are stored as their exact bytes.
 */
export async function* tarStream(
  sources: PreparedSource[],
  trailing: () => Promise<TrailingFile[]>,
  events: TarWriterEvents = {},
): AsyncGenerator<Buffer> {
  for (const source of sources) {
    const report: WalkReport = {
      warn: (path, message) => events.onWarning?.(path, message),
      unreadable: (path, message) => events.onUnreadable?.(path, message),
      beforeOpen: events.beforeOpen,
      excluded: (path, rule) => events.onExcluded?.(path, rule, source),
    };
    // Small entries go into one buffer so the stream sees few, large chunks.
    const batch = new TarBatch(BATCH);
    for (const entry of walkSource(source, report)) {
      const item = load(entry, report, source, events.incremental, batch);
      if (item.kind === 'skip') continue;
      if (item.kind === 'kept') {
        events.onFile?.(item.file, source);
        continue;
      }
      if (events.onEntry) {
        const size = item.kind === 'large' ? item.size : item.file?.size ?? 0;
        const pending = events.onEntry({ path: entry.archivePath, rawPath: entry.rawArchivePath, type: entry.type, size });
        if (pending) await pending;
      }
      if (item.kind === 'inline') {
        events.onRead?.(item.file?.size ?? 0);
        if (item.file) events.onFile?.(item.file, source);
        if (item.entry) events.onIndexed?.(item.entry);
        for (const chunk of batch.take()) yield chunk;
        continue;
      }
      for (const chunk of batch.take(true)) yield chunk;
      yield* streamLargeFile(item, source, events, report);
    }
    for (const chunk of batch.take(true)) yield chunk;
  }
  for (const file of await trailing()) {
    const size = 'data' in file ? file.data.length : file.size;
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000);
    const header = encodeHeader({ path: file.path, type: 'File', size, mode: 0o644, mtime });
    const hash = createHash('sha256');
    const stored = () => events.onIndexed?.({ path: file.path, type: 'file', size, mode: 0o644, mtime: mtime.toISOString(), sha256: hash.digest('hex') });
    if ('data' in file) {
      hash.update(file.data);
      yield Buffer.concat([header, file.data, padding(size)]);
      stored();
      continue;
    }
    yield header;
    let got = 0;
    for await (const chunk of file.chunks()) {
      got += chunk.length;
      hash.update(chunk);
      yield chunk;
    }
    if (got !== size) throw new Error(`${file.path}: wrote ${got} bytes where its tar header says ${size}`);
    yield padding(size);
    stored();
  }
  yield Buffer.alloc(BLOCK * 2);
}

type Loaded =
  | { kind: 'skip' }
  | { kind: 'kept'; file: StoredFile }
  /** Its tar bytes are in the batch. */
  | { kind: 'inline'; file?: StoredFile; entry?: IndexEntry }
  | { kind: 'large'; entry: WalkEntry; fd: number; size: number; header: Buffer; stat: Stats };

/**
 * Turns one walked entry into tar bytes. Directories, symlinks and small
 * files are read synchronously (for cached small files a handful of direct
 * syscalls is many times faster than the same calls through the thread
 * pool); large files are opened here and streamed by `streamLargeFile`.
 * Files are opened with O_NOFOLLOW through their open parent directory, and
 * the header describes what was opened (its fstat), never what a path
 * pointed to earlier.
 */
function load(entry: WalkEntry, report: WalkReport, source: PreparedSource, incremental: IncrementalHooks | undefined, batch: TarBatch): Loaded {
  const raw = entry.rawArchivePath;
  if (entry.type === 'dir') {
    const st = entry.stat!;
    const data: HeaderData = { path: `${entry.archivePath}/`, type: 'Directory', size: 0, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: mtimeOf(st) };
    const dumpdir = incremental ? { 'GNU.dumpdir': incremental.dumpdir(entry) } : undefined;
    batch.append(encodeHeader(data, raw ? { path: Buffer.concat([raw, SLASH]) } : undefined, dumpdir));
    return { kind: 'inline', entry: indexEntry(entry, 'dir', st) };
  }
  if (entry.type === 'symlink') {
    const st = entry.stat!;
    let target: Buffer;
    try {
      target = readlinkSync(entry.fsPath, { encoding: 'buffer' });
    } catch (err) {
      openFailed(entry.archivePath, 'symlink', err, report);
      return { kind: 'skip' };
    }
    const rawLink = isUtf8(target) ? undefined : target;
    const data: HeaderData = { path: entry.archivePath, type: 'SymbolicLink', size: 0, linkpath: target.toString('utf8'), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: mtimeOf(st) };
    const indexed = { ...indexEntry(entry, 'symlink', st), link: data.linkpath };
    batch.append(encodeHeader(data, raw || rawLink ? { path: raw, linkpath: rawLink } : undefined));
    return { kind: 'inline', entry: indexed };
  }
  const kept = incremental?.unchanged(entry, source);
  if (kept) return { kind: 'kept', file: kept };
  let fd: number;
  try {
    fd = openSync(entry.fsPath, OPEN_NOFOLLOW);
  } catch (err) {
    openFailed(entry.archivePath, 'file', err, report);
    return { kind: 'skip' };
  }
  let handedOver = false;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      report.warn(entry.archivePath, 'changed from a regular file while being read; not stored');
      return { kind: 'skip' };
    }
    const header = encodeHeader({ path: entry.archivePath, type: 'File', size: st.size, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: mtimeOf(st) }, raw ? { path: raw } : undefined);
    if (st.size > SMALL_FILE) {
      handedOver = true;
      return { kind: 'large', entry, fd, size: st.size, header, stat: st };
    }
    // Read straight into the batch, after the header, one byte more than expected to notice a file that grew.
    // A read that returns exactly the size is the whole file (had it grown, the read would have returned that
    // extra byte): no second read for end of file.
    const pad = (BLOCK - (st.size % BLOCK)) % BLOCK;
    const at = batch.reserve(header.length + st.size + Math.max(pad, 1));
    const buf = batch.buffer;
    const start = at + header.length;
    const want = st.size + 1;
    let got = 0;
    try {
      while (got < want) {
        const n = readSync(fd, buf, start + got, want - got, got);
        if (n === 0) break;
        got += n;
        if (got === st.size) break;
      }
    } catch (err) {
      report.unreadable(entry.archivePath, `file could not be read (${codeOf(err)}); not stored`);
      return { kind: 'skip' };
    }
    if (got > st.size) report.warn(entry.archivePath, `file grew while being read; stored its first ${st.size} bytes`);
    if (got < st.size) report.warn(entry.archivePath, `file shrank while being read (${got} of ${st.size} bytes); stored zero-padded`);
    // Zeros after what was read (a file that shrank), then the block padding (over a grown file's extra byte).
    buf.fill(0, start + Math.min(got, st.size), start + st.size + pad);
    header.copy(buf, at);
    const data = buf.subarray(start, start + st.size);
    const hashed = storedFile(entry, st.size, createHash('sha256').update(data).digest('hex'));
    const file = incremental ? incremental.stored(entry, hashed) : hashed;
    batch.commit(header.length + st.size + pad);
    return { kind: 'inline', file, entry: { ...indexEntry(entry, 'file', st), size: st.size, sha256: file.sha256 } };
  } finally {
    if (!handedOver) closeSync(fd);
  }
}

const SLASH = Buffer.from('/');

/** The index sidecar's line for a walked entry, from the stat its tar header was made of. */
function indexEntry(entry: WalkEntry, type: IndexEntry['type'], st: Stats): IndexEntry {
  // The tar header stores whole seconds, and the index lists what the archive holds.
  const e: IndexEntry = { path: entry.archivePath, type, size: 0, mode: st.mode & 0o7777, mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000).toISOString() };
  if (entry.rawArchivePath) e.path_b64 = entry.rawArchivePath.toString('base64');
  return e;
}

function storedFile(entry: WalkEntry, size: number, sha256: string): StoredFile {
  const file: StoredFile = { path: entry.archivePath, size, sha256 };
  if (entry.rawArchivePath) file.path_b64 = entry.rawArchivePath.toString('base64');
  return file;
}

/** A file or symlink that could not be opened: gone (warning), swapped for something else (warning), or unreadable. */
function openFailed(path: string, what: string, err: unknown, report: WalkReport): void {
  const code = codeOf(err);
  if (code === 'ENOENT') report.warn(path, `${what} vanished before it was read (${code}); not stored`);
  else if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'EINVAL') report.warn(path, `${what} was replaced while being read; not stored`);
  else report.unreadable(path, `${what} could not be opened (${code}); not stored`);
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

async function* streamLargeFile(item: Extract<Loaded, { kind: 'large' }>, source: PreparedSource, events: TarWriterEvents, report: WalkReport): AsyncGenerator<Buffer> {
  const { fd, size, entry } = item;
  const hash = createHash('sha256');
  try {
    yield item.header;
    let pos = 0;
    let failed = false;
    while (pos < size) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - pos));
      let bytesRead: number;
      try {
        bytesRead = await readAsync(fd, buf, 0, buf.length, pos);
      } catch (err) {
        // The header is out already: the archive stays valid with the rest zero-padded.
        report.unreadable(entry.archivePath, `file could not be read after ${pos} of ${size} bytes (${codeOf(err)}); stored zero-padded`);
        bytesRead = 0;
        failed = true;
      }
      if (bytesRead === 0) {
        if (!failed) events.onWarning?.(entry.archivePath, `file shrank while being read (${pos} of ${size} bytes); stored zero-padded`);
        const zeros = Buffer.alloc(size - pos);
        hash.update(zeros);
        yield zeros;
        pos = size;
        break;
      }
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      pos += bytesRead;
      events.onRead?.(bytesRead);
      yield chunk;
    }
    const probe = Buffer.allocUnsafe(1);
    if (!failed && (await readAsync(fd, probe, 0, 1, size).catch(() => 0)) > 0) {
      events.onWarning?.(entry.archivePath, `file grew while being read; stored its first ${size} bytes`);
    }
    yield padding(size);
    const file = storedFile(entry, size, hash.digest('hex'));
    events.onFile?.(events.incremental ? events.incremental.stored(entry, file) : file, source);
    events.onIndexed?.({ ...indexEntry(entry, 'file', item.stat), size, sha256: file.sha256 });
  } finally {
    await closeAsync(fd);
  }
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

export { encodeHeader } from './tar-header.js';
