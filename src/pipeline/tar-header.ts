import { Header, Pax, type HeaderData } from 'tar';

/** Exact name bytes for an entry whose path or link target is not valid UTF-8. */
export interface RawNames {
  path?: Buffer;
  linkpath?: Buffer;
}

/**
 * A ustar header, preceded by a pax header when a field does not fit (long
 * or non-ASCII names, big sizes). With `raw`, names are written as their
 * exact bytes: in the ustar name/prefix/linkname fields when they fit,
 * otherwise in pax `path`/`linkpath` records holding the raw bytes, as GNU
 * tar writes them, so GNU tar and Ferry extract the same bytes.
 */
export function encodeHeader(data: HeaderData, raw?: RawNames, extra?: Record<string, Buffer>): Buffer {
  if (extra) return encodeRaw(data, { path: raw?.path ?? Buffer.from(data.path ?? ''), linkpath: raw?.linkpath }, extra);
  if (raw?.path || raw?.linkpath) return encodeRaw(data, raw);
  const fast = plainUstar(data);
  if (fast) return fast;
  const header = new Header(data);
  const needPax = header.encode();
  if (!needPax) return header.block!;
  const pax = new Pax({ path: data.path, linkpath: data.linkpath, size: data.size, mtime: data.mtime, uid: data.uid, gid: data.gid });
  return Buffer.concat([pax.encode(), header.block!]);
}

const MAX_SIZE = 0o77777777777;
const MAX_ID = 0o7777777;

const TYPE_FLAGS: Partial<Record<string, number>> = { File: 0x30, SymbolicLink: 0x32, Directory: 0x35 };
const PLAIN_FIELDS = new Set(['path', 'type', 'size', 'mode', 'uid', 'gid', 'mtime', 'linkpath']);
const USTAR_MAGIC = Buffer.from('ustar\u000000', 'latin1');

/**
 * The header of an entry that needs no pax header (ASCII names that fit,
 * numbers in range), written here byte for byte as node-tar's `Header`
 * writes it. Most entries of an app's data are such entries; node-tar's
 * general path cost about 6 µs and a dozen short-lived objects per entry,
 * a tenth of a run's time per small file. Anything else returns undefined
 * and goes through node-tar.
 */
function plainUstar(data: HeaderData): Buffer | undefined {
  const flag = data.type === undefined ? undefined : TYPE_FLAGS[data.type];
  if (flag === undefined) return undefined;
  for (const key in data) if (!PLAIN_FIELDS.has(key) && (data as Record<string, unknown>)[key] !== undefined) return undefined;
  const { path, linkpath, mtime } = data;
  // node-tar keeps a name of 100 bytes or more for its prefix split; those go through it.
  if (path === undefined || !shortAscii(path, 99) || (linkpath !== undefined && !shortAscii(linkpath, 100))) return undefined;
  const seconds = mtime === undefined ? undefined : mtime.getTime() / 1000;
  if (!fits(data.mode, MAX_ID) || !fits(data.uid, MAX_ID) || !fits(data.gid, MAX_ID) || !fits(data.size, MAX_SIZE) || !fits(seconds, MAX_SIZE)) return undefined;
  const block = Buffer.allocUnsafe(512).fill(0);
  block.write(path, 0, 'latin1');
  octal(block, 100, 8, data.mode);
  octal(block, 108, 8, data.uid);
  octal(block, 116, 8, data.gid);
  octal(block, 124, 12, data.size);
  octal(block, 136, 12, seconds);
  block[156] = flag;
  if (linkpath !== undefined) block.write(linkpath, 157, 'latin1');
  USTAR_MAGIC.copy(block, 257);
  octal(block, 329, 8, 0); // device major and minor, as node-tar writes them
  octal(block, 337, 8, 0);
  // node-tar's checksum layout (digits, space, NUL), not the one `checksum()` below writes for raw names.
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < 512; i++) sum += block[i]!;
  octal(block, 148, 8, sum);
  return block;
}

/** True for a name of 1 to `max` characters, all ASCII and none NUL. */
function shortAscii(s: string, max: number): boolean {
  if (s.length === 0 || s.length > max) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f) return false;
  }
  return true;
}

function fits(n: number | undefined, max: number): boolean {
  return n === undefined || (n >= 0 && n <= max);
}

/**
 * A number field as node-tar writes it: octal digits zero-padded to the
 * field's size less two, then a space and a NUL; with one digit more, the
 * digits and a NUL. Left as zeros when undefined.
 */
function octal(block: Buffer, off: number, size: number, value: number | undefined): void {
  if (value === undefined) return;
  let n = Math.floor(value);
  let digits = 1;
  for (let m = n; m >= 8; m = Math.floor(m / 8)) digits++;
  const width = digits === size - 1 ? digits : size - 2;
  for (let i = off + width - 1; i >= off; i--) {
    block[i] = 0x30 + (n % 8);
    n = Math.floor(n / 8);
  }
  if (width === size - 2) block[off + width] = 0x20;
  block[off + size - 1] = 0;
}

/** With `extra`, a pax header is always written, holding those records too (e.g. GNU tar's `GNU.dumpdir`). */
function encodeRaw(data: HeaderData, raw: RawNames, extra?: Record<string, Buffer>): Buffer {
  const path = raw.path ?? Buffer.from(data.path ?? '');
  const link = raw.linkpath ?? (data.linkpath !== undefined ? Buffer.from(data.linkpath) : undefined);
  // node-tar encodes every numeric field; the names are then replaced by their bytes.
  const header = new Header({ ...data, path: 'x', linkpath: link ? 'x' : undefined });
  let needPax = header.encode();
  const block = header.block!;
  block.fill(0, 0, 100);
  block.fill(0, 345, 500);
  const split = splitUstar(path);
  if (split) {
    split.name.copy(block, 0);
    split.prefix.copy(block, 345);
  } else {
    path.copy(block, 0, 0, 100);
    needPax = true;
  }
  if (link) {
    block.fill(0, 157, 257);
    link.copy(block, 157, 0, 100);
    if (link.length > 100) needPax = true;
  }
  checksum(block);
  if (extra) needPax = true;
  if (!needPax) return block;
  // No `hdrcharset=BINARY`: GNU tar does not write it and warns about it on every read; like GNU tar,
  // readers take the bytes of a path that is not valid UTF-8 as they are.
  const records = [record('path', path)];
  if (link) records.push(record('linkpath', link));
  if (data.mtime) records.push(record('mtime', Buffer.from(String(data.mtime.getTime() / 1000))));
  if ((data.size ?? 0) > MAX_SIZE) records.push(record('size', Buffer.from(String(data.size))));
  if ((data.uid ?? 0) > MAX_ID) records.push(record('uid', Buffer.from(String(data.uid))));
  if ((data.gid ?? 0) > MAX_ID) records.push(record('gid', Buffer.from(String(data.gid))));
  for (const [key, value] of Object.entries(extra ?? {})) records.push(record(key, value));
  const body = Buffer.concat(records);
  const paxName = `PaxHeader/${path.toString('latin1').replace(/\/+$/, '').split('/').pop()!.replace(/[^\x20-\x7e]/g, '_')}`.slice(0, 99);
  const paxHeader = new Header({ path: paxName, type: 'ExtendedHeader', size: body.length, mode: 0o644, mtime: data.mtime });
  paxHeader.encode();
  const rest = body.length % 512;
  return Buffer.concat([paxHeader.block!, body, Buffer.alloc(rest ? 512 - rest : 0), block]);
}

/** Splits a name into ustar prefix (≤155 bytes) and name (≤100 bytes) at a slash, or returns undefined. */
function splitUstar(path: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (path.length <= 100) return { prefix: Buffer.alloc(0), name: path };
  const SL = 0x2f;
  // The last slash of a directory's trailing "/" cannot be the split point.
  for (let i = Math.min(155, path.length - 2); i > 0; i--) {
    if (path[i] !== SL) continue;
    if (path.length - i - 1 > 100) return undefined;
    return { prefix: path.subarray(0, i), name: path.subarray(i + 1) };
  }
  return undefined;
}

/** One pax record: "<len> key=value\n", where len counts the whole record, itself included. */
function record(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(` ${key}=`) + value.length + 1;
  let len = rest + 1;
  while (String(len).length + rest !== len) len = String(len).length + rest;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

function checksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
}
