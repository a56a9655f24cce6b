import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readlinkSync, readSync } from 'node:fs';
import { close, read } from 'node:fs';
import { promisify } from 'node:util';
import { Header, Pax, type HeaderData } from 'tar';
import { walkSource, type WalkEntry } from './walk.js';
import type { PreparedSource } from './sources/types.js';

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
  path: string;
  size: number;
  sha256: string;
}

export interface TarWriterEvents {
  /** A file was stored (after its last byte). */
  onFile?(file: StoredFile, source: PreparedSource): void;
  /** Something was stored differently from the disk, or skipped. The archive stays valid. */
  onWarning?(path: string, message: string): void;
  /** Bytes of file content read from disk. */
  onRead?(bytes: number): void;
}

/** A file appended after the sources (the inventory). */
export interface TrailingFile {
  path: string;
  data: Buffer;
}

/**
 * Streams a POSIX tar (ustar, pax headers where needed) of the prepared
 * sources, each under its `as` path, then `trailing()` files, then the two
 * end-of-archive blocks.
 *
 * A file that changes while it is read never corrupts the archive: the header
 * carries the size seen when the file was opened; a file that shrinks is
 * padded with zeros, one that grows is cut at that size, one that vanished
 * is skipped, and each case is reported through `onWarning`.
 */
export async function* tarStream(
  sources: PreparedSource[],
  trailing: () => Promise<TrailingFile[]>,
  events: TarWriterEvents = {},
): AsyncGenerator<Buffer> {
  const warn = (path: string, message: string) => events.onWarning?.(path, message);
  for (const source of sources) {
    // Batch small entries into one buffer so the stream sees few, large chunks.
    let batch: Buffer[] = [];
    let batchBytes = 0;
    for (const entry of walkSource(source, warn)) {
      const item = load(entry, warn);
      if (item.kind === 'skip') continue;
      if (item.kind === 'inline') {
        events.onRead?.(item.file?.size ?? 0);
        if (item.file) events.onFile?.(item.file, source);
        batch.push(item.block);
        batchBytes += item.block.length;
        if (batchBytes < BATCH) continue;
      }
      if (batch.length) yield Buffer.concat(batch);
      batch = [];
      batchBytes = 0;
      if (item.kind === 'large') yield* streamLargeFile(item, source, events);
    }
    if (batch.length) yield Buffer.concat(batch);
  }
  for (const file of await trailing()) {
    yield Buffer.concat([encodeHeader({ path: file.path, type: 'File', size: file.data.length, mode: 0o644, mtime: new Date() }), file.data, padding(file.data.length)]);
  }
  yield Buffer.alloc(BLOCK * 2);
}

type Loaded =
  | { kind: 'skip' }
  | { kind: 'inline'; block: Buffer; file?: StoredFile }
  | { kind: 'large'; entry: WalkEntry; fd: number; size: number; header: HeaderData };

/**
 * Turns one walked entry into tar bytes. Directories, symlinks and small
 * files are read synchronously (for cached small files a handful of direct
 * syscalls is many times faster than the same calls through the thread
 * pool); large files are opened here and streamed by `streamLargeFile`.
 */
function load(entry: WalkEntry, warn: (path: string, message: string) => void): Loaded {
  const base: HeaderData = { path: entry.archivePath, mode: entry.stat.mode & 0o7777, uid: entry.stat.uid, gid: entry.stat.gid, mtime: entry.stat.mtime };
  if (entry.type === 'dir') {
    return { kind: 'inline', block: encodeHeader({ ...base, path: `${entry.archivePath}/`, type: 'Directory', size: 0 }) };
  }
  if (entry.type === 'symlink') {
    try {
      const linkpath = readlinkSync(entry.fsPath);
      return { kind: 'inline', block: encodeHeader({ ...base, type: 'SymbolicLink', size: 0, linkpath }) };
    } catch (err) {
      warn(entry.archivePath, `symlink vanished before it was read (${(err as NodeJS.ErrnoException).code}); not stored`);
      return { kind: 'skip' };
    }
  }
  let fd: number;
  try {
    fd = openSync(entry.fsPath, 'r');
  } catch (err) {
    warn(entry.archivePath, `file could not be opened (${(err as NodeJS.ErrnoException).code}); not stored`);
    return { kind: 'skip' };
  }
  let handedOver = false;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      warn(entry.archivePath, 'changed from a regular file while being read; not stored');
      return { kind: 'skip' };
    }
    const header: HeaderData = { ...base, mode: st.mode & 0o7777, mtime: st.mtime, type: 'File', size: st.size };
    if (st.size > SMALL_FILE) {
      handedOver = true;
      return { kind: 'large', entry, fd, size: st.size, header };
    }
    // Read one byte more than expected to notice a file that grew.
    const buf = Buffer.allocUnsafe(st.size + 1);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    const data = fitToSize(buf.subarray(0, got), st.size, entry.archivePath, warn);
    const file = { path: entry.archivePath, size: st.size, sha256: createHash('sha256').update(data).digest('hex') };
    return { kind: 'inline', block: Buffer.concat([encodeHeader(header), data, padding(st.size)]), file };
  } finally {
    if (!handedOver) closeSync(fd);
  }
}

/** Cuts or zero-pads `data` to the size the header promised, warning about the difference. */
function fitToSize(data: Buffer, size: number, path: string, warn: (path: string, message: string) => void): Buffer {
  if (data.length > size) {
    warn(path, `file grew while being read; stored its first ${size} bytes`);
    return data.subarray(0, size);
  }
  if (data.length < size) {
    warn(path, `file shrank while being read (${data.length} of ${size} bytes); stored zero-padded`);
    return Buffer.concat([data, Buffer.alloc(size - data.length)]);
  }
  return data;
}

async function* streamLargeFile(item: Extract<Loaded, { kind: 'large' }>, source: PreparedSource, events: TarWriterEvents): AsyncGenerator<Buffer> {
  const { fd, size, entry } = item;
  const hash = createHash('sha256');
  try {
    yield encodeHeader(item.header);
    let pos = 0;
    while (pos < size) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - pos));
      const bytesRead = await readAsync(fd, buf, 0, buf.length, pos);
      if (bytesRead === 0) {
        events.onWarning?.(entry.archivePath, `file shrank while being read (${pos} of ${size} bytes); stored zero-padded`);
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
    if ((await readAsync(fd, probe, 0, 1, size)) > 0) {
      events.onWarning?.(entry.archivePath, `file grew while being read; stored its first ${size} bytes`);
    }
    yield padding(size);
    events.onFile?.({ path: entry.archivePath, size, sha256: hash.digest('hex') }, source);
  } finally {
    await closeAsync(fd);
  }
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** A ustar header, preceded by a pax header when a field does not fit (long or non-ASCII names, big sizes). */
export function encodeHeader(data: HeaderData): Buffer {
  const header = new Header(data);
  const needPax = header.encode();
  if (!needPax) return header.block!;
  const pax = new Pax({ path: data.path, linkpath: data.linkpath, size: data.size, mtime: data.mtime, uid: data.uid, gid: data.gid });
  return Buffer.concat([pax.encode(), header.block!]);
}
