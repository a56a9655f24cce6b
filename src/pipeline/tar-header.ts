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
  const header = new Header(data);
  const needPax = header.encode();
  if (!needPax) return header.block!;
  const pax = new Pax({ path: data.path, linkpath: data.linkpath, size: data.size, mtime: data.mtime, uid: data.uid, gid: data.gid });
  return Buffer.concat([pax.encode(), header.block!]);
}

const MAX_SIZE = 0o77777777777;
const MAX_ID = 0o7777777;

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
