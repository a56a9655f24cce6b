import type { Readable } from 'node:stream';
import { UnsafeEntryError } from '../errors.js';
import { ByteReader } from './byte-reader.js';
import { BLOCK, checksumOk, isZeroBlock, mergePax, paxInteger, parseHeader, parsePax, paxTime, timeInRange, type PaxRecords, type RawHeader } from './tar-header.js';
import { readSparseMap, type Segment } from './tar-sparse.js';

export type EntryType = 'File' | 'ContiguousFile' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';

export interface TarEntry {
  /** The path exactly as stored (pax `path`, GNU long name or ustar fields), as a binary string: one char per byte. */
  path: string;
  /** The link target exactly as stored, as a binary string (links only). */
  linkpath?: string;
  type: EntryType;
  /** The content's size once restored (a sparse file's full size, holes included). */
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, with the stored fraction (pax times have nanoseconds); undefined when the stored time is unusable (a warning says so). */
  mtime?: number;
  atime?: number;
  /** GNU sparse member: `chunks` leaves holes, and the file must be extended to `size`. */
  sparse: boolean;
  /** Things about this entry worth a warning that do not stop it being restored. */
  warnings: string[];
  /** A directory's GNU dumpdir (pax `GNU.dumpdir`, README: Incremental archives), as a binary string. */
  dumpdir?: string;
  /** The content, as slices of the input with their offset in the file. Call at most once, before asking for the next entry. */
  chunks(): AsyncGenerator<{ data: Buffer; position: number }>;
  /**
   * The whole content of a (non-sparse) file as one slice of the input, when
   * it is already in memory, as a small file usually is: no async round trip
   * per file. Undefined otherwise, or once content was read; then use `chunks()`.
   */
  whole(): Buffer | undefined;
}

/** An entry that must not be restored; the message names it. */
export class RefusedEntry extends UnsafeEntryError {
  constructor(readonly path: string, reason: string) {
    super(`refusing archive entry ${display(path)}: ${reason}`);
  }
}

/** A binary-string path for messages: decoded as UTF-8 (lossily), quoted and escaped so it stays on one line. */
export function display(path: string): string {
  return JSON.stringify(Buffer.from(path, 'latin1').toString('utf8'));
}

/** Pax, GNU long name and long link headers above this size are refused (naming the entry they belong to). */
export const META_LIMIT = 1024 * 1024;

const TYPES: Record<string, EntryType> = {
  '0': 'File', '\0': 'File', '7': 'ContiguousFile', S: 'File', '1': 'Link', '2': 'SymbolicLink',
  '3': 'CharacterDevice', '4': 'BlockDevice', '5': 'Directory', D: 'Directory', '6': 'FIFO',
};

interface Pending {
  pax?: PaxRecords;
  longName?: string;
  longLink?: string;
  /** Why the entry these headers belong to is refused. */
  refusal?: string;
}

/**
 * Reads a plain tar stream entry by entry, as GNU tar reads it: v7, ustar,
 * pax (`x` and global `g` headers; with several on one entry the later
 * wins) and GNU (long names and links, old and pax sparse members, dump
 * directories; volume labels skipped). It is ours rather than node-tar's
 * Parser because that one decodes names as UTF-8 (two different names can
 * become one), knows no sparse members (it would write them under
 * `GNUSparseFile.N/`), and reads the data a sized hard link does not have.
 * It streams: only headers (bounded by META_LIMIT) are buffered, never
 * content.
 *
 * The archive ends at the first zero block, at EOF on a header boundary, or
 * at a partial block of zeros; the rest of the input is read and dropped.
 * Throws on a bad header checksum or when the input ends inside an entry, and
 * a RefusedEntry for an entry it cannot restore faithfully.
 */
export async function* readTarEntries(input: Readable): AsyncGenerator<TarEntry> {
  const source = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const r = new ByteReader(source);
  let global: PaxRecords | undefined;
  let pending: Pending = {};
  let done = false;
  try {
    for (;;) {
      const block = await r.read(BLOCK);
      if (block.length === 0 || isZeroBlock(block)) break;
      if (block.length < BLOCK) throw new Error(`the archive ends inside a header at byte ${r.offset - block.length}`);
      const h = parseHeader(block, r.offset - BLOCK);
      if ('xgLKX'.includes(h.typeflag)) {
        await readMeta(h, r, pending, (g) => { global = mergePax(global, g); });
        continue;
      }
      if (h.typeflag === 'V') {
        await skipData(r, h.size, h);
        continue;
      }
      const entry = await makeEntry(h, r, global, pending);
      pending = {};
      yield entry.entry;
      if (!(await r.skip(entry.left() + padding(entry.stored)))) throw cut(entry.entry.path);
    }
    done = true;
    await r.drain();
  } finally {
    if (!done) await source.return?.();
  }
}

/** Reads a header that describes the next entry: pax `x` (or old Solaris `X`), global pax `g`, GNU long name `L` or long link `K`. */
async function readMeta(h: RawHeader, r: ByteReader, pending: Pending, onGlobal: (g: PaxRecords) => void): Promise<void> {
  const what = h.typeflag === 'L' ? 'GNU long name' : h.typeflag === 'K' ? 'GNU long link' : 'pax';
  if (h.size > META_LIMIT) {
    pending.refusal = `its ${what} header is ${h.size} bytes, over the ${META_LIMIT}-byte limit`;
    await skipData(r, h.size, h);
    return;
  }
  const data = await r.read(h.size + padding(h.size));
  if (data.length < h.size + padding(h.size)) throw new Error(`the archive ends inside a ${what} header at byte ${h.at}`);
  const body = data.subarray(0, h.size);
  if (h.typeflag === 'L' || h.typeflag === 'K') {
    const end = body.indexOf(0);
    const text = body.toString('latin1', 0, end === -1 ? body.length : end);
    if (h.typeflag === 'L') pending.longName = text;
    else pending.longLink = text;
    return;
  }
  try {
    const records = parsePax(body);
    if (h.typeflag === 'g') onGlobal(records);
    else pending.pax = mergePax(pending.pax, records);
  } catch (err) {
    pending.refusal ??= `its pax header is unreadable (${(err as Error).message})`;
  }
}

async function makeEntry(h: RawHeader, r: ByteReader, global: PaxRecords | undefined, pending: Pending) {
  const pax = global || pending.pax ? mergePax(global, pending.pax ?? { values: new Map(), sparsePairs: [] }) : undefined;
  const v = pax?.values ?? new Map<string, string>();
  const warnings: string[] = [];
  const path = v.get('GNU.sparse.name') ?? v.get('path') ?? pending.longName ?? h.name;
  let type = TYPES[h.typeflag];
  if (h.typeflag === 'M') throw new RefusedEntry(path, 'it continues a file from another volume of a multi-volume archive');
  if (!type) {
    warnings.push(`unknown entry type ${JSON.stringify(h.typeflag)}, restored as a regular file`);
    type = 'File';
  }
  if ((h.typeflag === '0' || h.typeflag === '\0') && path.endsWith('/')) type = 'Directory';
  const refuse = (reason: string) => new RefusedEntry(path, reason);
  if (pending.refusal) throw refuse(pending.refusal);
  if (path.includes('\0')) throw refuse('its name contains a NUL byte');
  let stored = h.size;
  if (v.has('size')) {
    const n = paxInteger(v.get('size')!);
    if (n === undefined) throw refuse(`its pax size "${v.get('size')}" is not a number`);
    stored = n;
  }
  if ((type === 'Link' || type === 'SymbolicLink') && stored > 0 && !(await dataFollows(r))) stored = 0;
  const number = (key: string, fallback: number) => {
    if (!v.has(key)) return fallback;
    const n = paxInteger(v.get(key)!);
    if (n === undefined) warnings.push(`unparsable pax ${key} "${v.get(key)}"; the header's value is used`);
    return n ?? fallback;
  };
  const time = (key: string, fallback?: number) => {
    if (v.has(key)) {
      const t = paxTime(v.get(key)!);
      if (t !== undefined) return t;
      warnings.push(`unparsable pax ${key} "${v.get(key)}"; ${fallback === undefined ? 'it is not restored' : "the header's time is used"}`);
    }
    if (fallback === undefined) return undefined;
    if (timeInRange(fallback)) return fallback;
    warnings.push(`its ${key} is out of range; it is not restored`);
    return undefined;
  };
  const sparse = await readSparseMap(h, pax, r, stored);
  if (typeof sparse === 'string') throw refuse(sparse);
  if (sparse && /(^|\/)GNUSparseFile\.\d+\//.test(path)) throw refuse('it is a sparse member whose real name is not stored');
  const segments: Segment[] = sparse ? sparse.segments : [{ offset: 0, length: type === 'File' || type === 'ContiguousFile' ? stored : 0 }];
  let left = stored - (sparse?.mapBytes ?? 0);
  let started = false;
  const entry: TarEntry = {
    path,
    linkpath: type === 'Link' || type === 'SymbolicLink' ? v.get('linkpath') ?? pending.longLink ?? h.linkname : undefined,
    type,
    size: sparse ? sparse.realSize : segments[0]!.length,
    mode: h.mode,
    uid: number('uid', h.uid),
    gid: number('gid', h.gid),
    mtime: time('mtime', h.mtime),
    atime: time('atime'),
    sparse: !!sparse,
    warnings,
    ...(type === 'Directory' && v.has('GNU.dumpdir') ? { dumpdir: v.get('GNU.dumpdir') } : {}),
    whole() {
      if (started || sparse || segments.length !== 1) return undefined;
      const data = r.inChunk(segments[0]!.length);
      if (!data) return undefined;
      started = true;
      left -= data.length;
      return data;
    },
    async *chunks() {
      if (started) throw new Error('entry content was already read');
      started = true;
      for (const s of segments) {
        for (let done = 0; done < s.length; ) {
          const data = await r.some(s.length - done);
          if (!data.length) throw cut(path);
          left -= data.length;
          yield { data, position: s.offset + done };
          done += data.length;
        }
      }
    },
  };
  return { entry, stored, left: () => left };
}

/** Whether the block after a link header is content rather than the next header (some archivers give links a size and no data, as GNU tar accepts). */
async function dataFollows(r: ByteReader): Promise<boolean> {
  const next = await r.peek(BLOCK);
  return next.length === BLOCK && !isZeroBlock(next) && !checksumOk(next);
}

async function skipData(r: ByteReader, size: number, h: RawHeader): Promise<void> {
  if (!(await r.skip(size + padding(size)))) throw cut(h.name);
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function cut(path: string): Error {
  return new Error(`the archive ends inside the entry ${display(path)}`);
}
