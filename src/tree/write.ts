import { isUtf8 } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { closeSync, createReadStream, fstatSync, lstatSync, openSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import type { InventoryBuilder } from '../pipeline/inventory.js';
import type { PreparedSource } from '../pipeline/sources/types.js';
import { OPEN_NOFOLLOW, walkSource, type WalkEntry, type WalkReport } from '../pipeline/walk.js';
import type { StoredFile } from '../pipeline/tar-writer.js';
import { joinTreePath, type TreeAdapter, type TreePath } from '../storage/tree-adapter.js';
import { PreviousEntries } from './previous.js';
import { mtimeOf } from '../util/stat-time.js';

export interface TreeWriteOptions {
  /** Directory (relative to the target's root) the snapshot is built in. */
  into: string;
  /** The previous complete snapshot's directory, when there is one: unchanged files are hard-linked from it. */
  previous?: string;
  /** Also compare each unchanged-looking file's sha256 with the previous inventory before linking it. */
  verifyHash: boolean;
  inventory: InventoryBuilder;
  report: WalkReport;
  signal?: AbortSignal;
}

export interface TreeWriteResult {
  /** Bytes of all files in the snapshot (linked or copied). */
  bytes: number;
  /** Bytes that were copied (new space on the target). */
  copiedBytes: number;
  linked: number;
  copied: number;
}

interface OpenDir {
  /** The directory's path bytes as a latin1 string (one char per byte), for prefix tests. */
  key: string;
  dest: TreePath;
  mode: number;
  mtime: Date;
}

/**
 * Writes every prepared source under its `as` path into `into`: directories,
 * symlinks (as links) and files, with modes and mtimes. A file whose size,
 * mtime (at the target's resolution) and mode equal those of the same path
 * in `previous`, and that the previous inventory lists with that size, is
 * hard-linked to it and keeps its inventory sha256 (`verifyHash`: only when
 * the file's own sha256 matches it too); every other file is copied and
 * hashed. Each file goes to `inventory` in walk order. Entries are read as
 * the archive writer reads them (`walkSource`: never through a symlink, each
 * file through its opened parent); a file that changes while it is copied is
 * stored as read and reported. Directory modes and mtimes are set once their
 * contents are written. Names are stored byte for byte; on a target without
 * `rawNames`, an entry whose name is not valid UTF-8 (and what is under it)
 * is reported as not stored.
 */
export async function writeTree(tree: TreeAdapter, sources: PreparedSource[], options: TreeWriteOptions): Promise<TreeWriteResult> {
  const result: TreeWriteResult = { bytes: 0, copiedBytes: 0, linked: 0, copied: 0 };
  for (const source of sources) {
    await makeParents(tree, options.into, source.as);
    if (tree.syncSource) {
      await syncWhole(tree, source, options, result);
      continue;
    }
    const previous = previousEntries(tree, source, options);
    const open: OpenDir[] = [];
    const closeDirsUntil = async (key: string) => {
      while (open.length && !key.startsWith(`${open.at(-1)!.key}/`)) {
        const d = open.pop()!;
        await tree.setAttributes(d.dest, d.mode, d.mtime, { signal: options.signal });
      }
    };
    let refused: string | undefined;
    try {
      for (const entry of walkSource(source, options.report)) {
        if (options.signal?.aborted) throw options.signal.reason;
        const key = keyOf(entry);
        if (refused !== undefined && key.startsWith(`${refused}/`)) continue;
        await closeDirsUntil(key);
        if (entry.rawArchivePath && !tree.rawNames) {
          refused = key;
          options.report.unreadable(entry.archivePath, `its name is not valid UTF-8, which target "${tree.name}" cannot store byte for byte; not stored (use format: archive or another target type for it)`);
          continue;
        }
        const dest = joinTreePath(options.into, entry.archivePath, entry.rawArchivePath);
        if (entry.type === 'dir') {
          await tree.mkdir(dest, entry.stat!.mode & 0o7777, { signal: options.signal });
          open.push({ key, dest, mode: entry.stat!.mode & 0o7777, mtime: mtimeOf(entry.stat!) });
        } else if (entry.type === 'symlink') {
          let target: Buffer;
          try {
            target = readlinkSync(entry.fsPath, 'buffer');
          } catch (err) {
            options.report.warn(entry.archivePath, `symlink vanished before it was read (${(err as NodeJS.ErrnoException).code}); not stored`);
            continue;
          }
          if (!isUtf8(target) && !tree.rawNames) {
            options.report.unreadable(entry.archivePath, `its target is not valid UTF-8, which target "${tree.name}" cannot store byte for byte; not stored`);
            continue;
          }
          await tree.symlink(isUtf8(target) ? target.toString('utf8') : target, dest, { signal: options.signal, mtime: mtimeOf(entry.stat!) });
        } else {
          const stored = await writeFile(tree, entry, dest, previous, options);
          if (!stored) continue;
          options.inventory.addFile(stored.file, source);
          result.bytes += stored.file.size;
          if (stored.linked) result.linked++;
          else {
            result.copied++;
            result.copiedBytes += stored.file.size;
          }
        }
      }
      await closeDirsUntil('\u0000');
    } finally {
      await previous?.close();
    }
  }
  return result;
}

/**
 * For targets that copy a whole source themselves (rsync `--link-dest`):
 * sends it, then walks it here to list every file in the inventory. A file
 * the target says it linked keeps the previous inventory's sha256 when its
 * size still matches; every other file is hashed here. A file that changes
 * between the send and the hashing is listed with the bytes read here, and
 * `verify` then names it.
 */
async function syncWhole(tree: TreeAdapter, source: PreparedSource, options: TreeWriteOptions, result: TreeWriteResult): Promise<void> {
  const local = realpathSync(source.fsPath);
  const synced = await tree.syncSource!({
    local,
    isDir: statSync(local).isDirectory(),
    dest: `${options.into}/${source.as}`,
    previous: options.previous ? `${options.previous}/${source.as}` : undefined,
    exclude: [...source.exclude, ...(source.autoExclude ?? []).map((e) => e.path)],
    compareContent: options.verifyHash,
  }, { signal: options.signal });
  const previous = synced.sent && !options.verifyHash ? previousEntries(tree, source, options) : undefined;
  let files = 0;
  try {
    for (const entry of walkSource(source, options.report)) {
      if (entry.type !== 'file') continue;
      const stored = (previous && await linkedEntry(entry, source.as, synced.sent!, previous)) ?? await hashEntry(entry, options.report);
      if (!stored) continue;
      options.inventory.addFile(stored, source);
      files++;
      result.bytes += stored.size;
    }
  } finally {
    await previous?.close();
  }
  result.copied += synced.files;
  result.copiedBytes += synced.bytes;
  result.linked += Math.max(0, files - synced.files);
}

/** The previous inventory's entry for a file the target linked (not in `sent`) whose size is unchanged, else undefined. */
async function linkedEntry(entry: WalkEntry, as: string, sent: Set<string>, previous: PreviousEntries): Promise<StoredFile | undefined> {
  if (entry.rawArchivePath) return undefined;
  const rel = entry.archivePath === as ? '' : entry.archivePath.slice(as.length + 1);
  if (sent.has(rel)) return undefined;
  const old = await previous.lookup(Buffer.from(entry.archivePath));
  const st = old && lstatOrUndefined(entry.fsPath);
  if (!old || !st?.isFile() || st.size !== old.size) return undefined;
  return { path: entry.archivePath, size: st.size, sha256: old.sha256 };
}

/** The previous snapshot's inventory entries of `source`, when there is a previous snapshot. */
function previousEntries(tree: TreeAdapter, source: PreparedSource, options: TreeWriteOptions): PreviousEntries | undefined {
  if (!options.previous) return undefined;
  const inventory = `${options.previous}/inventory.json`;
  return new PreviousEntries(() => tree.readFile(inventory, { signal: options.signal }), source.as);
}

async function hashEntry(entry: WalkEntry, report: WalkReport): Promise<StoredFile | undefined> {
  let fd: number;
  try {
    fd = openSync(entry.fsPath, OPEN_NOFOLLOW);
  } catch (err) {
    report.warn(entry.archivePath, `file vanished before it was read (${(err as NodeJS.ErrnoException).code}); not listed`);
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const file: StoredFile = { path: entry.archivePath, size, sha256: await hashFd(fd, size) };
    if (entry.rawArchivePath) file.path_b64 = entry.rawArchivePath.toString('base64');
    return file;
  } finally {
    closeSync(fd);
  }
}

/** Creates the directories above a source's `as` path (`data` for `data/app.db`). */
async function makeParents(tree: TreeAdapter, into: string, as: string): Promise<void> {
  const parts = as.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const dir = `${into}/${parts.slice(0, i).join('/')}`;
    if (!(await tree.lstat(dir))) await tree.mkdir(dir, 0o755);
  }
}

async function writeFile(
  tree: TreeAdapter,
  entry: WalkEntry,
  dest: TreePath,
  previous: PreviousEntries | undefined,
  options: TreeWriteOptions,
): Promise<{ file: StoredFile; linked: boolean } | undefined> {
  const base: Omit<StoredFile, 'sha256' | 'size'> = { path: entry.archivePath };
  if (entry.rawArchivePath) base.path_b64 = entry.rawArchivePath.toString('base64');
  /** Hard-links the previous snapshot's copy, which the inventory lists with its old sha256. */
  const linkPrevious = async (size: number, sha256: string) => {
    await tree.link(joinTreePath(options.previous!, entry.archivePath, entry.rawArchivePath), dest, { signal: options.signal });
    return { file: { ...base, size, sha256 }, linked: true };
  };
  if (previous && !options.verifyHash) {
    // Linking reads nothing of the source: its lstat decides, and the file is opened only to be copied.
    const st = entry.stat ?? lstatOrUndefined(entry.fsPath);
    const old = st?.isFile() ? await unchanged(tree, entry, st, previous, options) : undefined;
    if (st && old) return linkPrevious(st.size, old.sha256);
  }
  let fd: number;
  try {
    fd = openSync(entry.fsPath, OPEN_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') options.report.warn(entry.archivePath, `file vanished before it was read (${code}); not stored`);
    else if (code === 'ELOOP' || code === 'ENOTDIR') options.report.warn(entry.archivePath, 'file was replaced while being read; not stored');
    else options.report.unreadable(entry.archivePath, `file could not be opened (${code}); not stored`);
    return undefined;
  }
  let closed = false;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      options.report.warn(entry.archivePath, 'changed from a regular file while being read; not stored');
      return undefined;
    }
    const mode = st.mode & 0o7777;
    const old = options.verifyHash ? await unchanged(tree, entry, st, previous, options) : undefined;
    if (old && (await hashFd(fd, st.size)) === old.sha256) return await linkPrevious(st.size, old.sha256);
    const hash = createHash('sha256');
    closed = true;
    let data: Readable;
    if (st.size === 0) {
      closeSync(fd);
      data = Readable.from([]);
    } else {
      // Hashed as the target pulls the bytes (a 'data' listener would start the flow before the target is ready).
      data = Readable.from(hashed(createReadStream('', { fd, start: 0, end: st.size - 1, highWaterMark: 1 << 20 }), hash), { objectMode: false });
    }
    let size: number;
    try {
      size = await tree.writeFile(dest, data, mode, { signal: options.signal });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EIO') {
        options.report.unreadable(entry.archivePath, `file could not be read (EIO); not stored`);
        return undefined;
      }
      throw err;
    }
    if (size !== st.size) options.report.warn(entry.archivePath, `file shrank while being read (${size} of ${st.size} bytes); stored what was read`);
    await tree.setAttributes(dest, mode, mtimeOf(st), { signal: options.signal });
    return { file: { ...base, size, sha256: hash.digest('hex') }, linked: false };
  } finally {
    if (!closed) closeSync(fd);
  }
}

/** The previous inventory's entry when the file looks unchanged since the previous snapshot, else undefined. */
async function unchanged(tree: TreeAdapter, entry: WalkEntry, st: Stats, previous: PreviousEntries | undefined, options: TreeWriteOptions) {
  if (!previous || !options.previous) return undefined;
  const old = await previous.lookup(entry.rawArchivePath ?? Buffer.from(entry.archivePath));
  if (!old || old.size !== st.size || typeof old.sha256 !== 'string') return undefined;
  const was = await tree.lstat(joinTreePath(options.previous, entry.archivePath, entry.rawArchivePath), { signal: options.signal });
  if (!was || was.type !== 'file' || was.size !== st.size || was.mode !== (st.mode & 0o7777)) return undefined;
  // Times are stored at the target's resolution (and through a float of seconds locally): equal within it.
  const res = tree.mtimeResolutionMs;
  const same = Math.floor(was.mtimeMs / res) === Math.floor(st.mtimeMs / res) || Math.abs(was.mtimeMs - st.mtimeMs) < 1;
  return same ? old : undefined;
}

function lstatOrUndefined(path: string | Buffer): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined; // vanished or unreadable: opening it says which
  }
}

/** An entry's path bytes as a latin1 string: one char per byte, so prefixes compare exactly. */
function keyOf(entry: WalkEntry): string {
  return (entry.rawArchivePath ?? Buffer.from(entry.archivePath)).toString('latin1');
}

async function hashFd(fd: number, size: number): Promise<string> {
  const hash = createHash('sha256');
  if (size === 0) return hash.digest('hex');
  for await (const chunk of createReadStream('', { fd, start: 0, end: size - 1, autoClose: false })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function* hashed(input: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of input) {
    hash.update(chunk);
    yield chunk;
  }
}
