/**
 * Decoding of single tar header blocks (v7, ustar, old GNU) and of pax
 * extended header records. Names and other strings are kept as "binary
 * strings": one char per stored byte (latin1), so a name that is not valid
 * UTF-8 survives byte for byte and two different names never compare equal.
 */

export const BLOCK = 512;

export interface RawHeader {
  /** Byte offset of this header in the plain tar stream. */
  at: number;
  name: string;
  linkname: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** Old GNU format (magic "ustar  "), whose prefix area holds other fields (such as sparse maps). */
  gnu: boolean;
  block: Buffer;
}

/** A NUL-terminated field as a binary string. */
export function field(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start);
  return block.toString('latin1', start, end === -1 || end > start + length ? start + length : end);
}

/**
 * A numeric header field: octal text (spaces and NULs around it allowed) or
 * GNU base-256 (first byte 0x80 or 0xff). Throws on anything else or on a
 * value too large to be exact in a JavaScript number.
 */
export function numeric(block: Buffer, start: number, length: number, what: string): number {
  const first = block[start]!;
  if (first === 0x80 || first === 0xff) {
    let value = BigInt(first & 0x7f);
    for (let i = 1; i < length; i++) value = (value << 8n) | BigInt(block[start + i]!);
    if (first === 0xff) value -= 1n << BigInt(8 * length - 1);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what} field out of range`);
    return Number(value);
  }
  // Octal digits, read up to the first NUL, with the whitespace String.prototype.trim removes around them.
  let end = Math.min(start + length, block.length);
  const nul = block.indexOf(0, start);
  if (nul !== -1 && nul < end) end = nul;
  let at = start;
  while (at < end && isSpace(block[at]!)) at++;
  while (end > at && isSpace(block[end - 1]!)) end--;
  let value = 0;
  for (; at < end; at++) {
    const digit = block[at]! - 0x30;
    if (digit < 0 || digit > 7) throw new Error(`${what} field is not a number`);
    value = value * 8 + digit;
  }
  return value;
}

/** The bytes that String.prototype.trim removes from a latin1 string: tab, LF, VT, FF, CR, space and no-break space. */
function isSpace(byte: number): boolean {
  return (byte >= 0x09 && byte <= 0x0d) || byte === 0x20 || byte === 0xa0;
}

/** True for a block of zeros (the end-of-archive marker). */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Whether the block's checksum is right (unsigned or, as some old tars wrote it, signed). */
export function checksumOk(block: Buffer): boolean {
  let stored: number;
  try {
    stored = numeric(block, 148, 8, 'checksum');
  } catch {
    return false;
  }
  // The sum of the bytes with the checksum field counted as eight spaces; signed, each byte above 127 counts 256 less
  // (summed only when the unsigned sum does not match: a loop without branches is some twice as fast per header).
  let unsigned = 8 * 0x20;
  for (let i = 0; i < 148; i++) unsigned += block[i]!;
  for (let i = 156; i < BLOCK; i++) unsigned += block[i]!;
  if (stored === unsigned) return true;
  let high = 0;
  for (let i = 0; i < BLOCK; i++) if (block[i]! > 127 && (i < 148 || i >= 156)) high++;
  return stored === unsigned - 256 * high;
}

/** Decodes one header block; throws a message with the byte offset when it is not a tar header. */
export function parseHeader(block: Buffer, at: number): RawHeader {
  if (!checksumOk(block)) throw new Error(`not a valid tar header at byte ${at} (checksum mismatch)`);
  const magic = block.toString('latin1', 257, 265);
  const gnu = magic === 'ustar  \0';
  let name = field(block, 0, 100);
  if (!gnu && magic.startsWith('ustar') && block[345] !== 0) name = `${field(block, 345, 155)}/${name}`;
  try {
    return {
      at,
      name,
      linkname: field(block, 157, 100),
      typeflag: String.fromCharCode(block[156]!),
      mode: numeric(block, 100, 8, 'mode'),
      uid: numeric(block, 108, 8, 'uid'),
      gid: numeric(block, 116, 8, 'gid'),
      size: numeric(block, 124, 12, 'size'),
      mtime: numeric(block, 136, 12, 'mtime'),
      gnu,
      block,
    };
  } catch (err) {
    throw new Error(`tar header of "${name}" at byte ${at}: ${(err as Error).message}`);
  }
}

/** Pax records of one entry (later records and later headers win), plus the ordered sparse pairs of GNU format 0.0. */
export interface PaxRecords {
  values: Map<string, string>;
  sparsePairs: number[];
}

/** Parses `len key=value\n` records; keys and values stay binary strings. Throws on a malformed record. */
export function parsePax(data: Buffer): PaxRecords {
  const out: PaxRecords = { values: new Map(), sparsePairs: [] };
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    const len = space === -1 ? NaN : Number(data.toString('latin1', at, space));
    if (!Number.isInteger(len) || len <= space - at || at + len > data.length || data[at + len - 1] !== 0x0a) throw new Error('malformed pax header');
    const record = data.toString('latin1', space + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw new Error('malformed pax header');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'GNU.sparse.offset' || key === 'GNU.sparse.numbytes') out.sparsePairs.push(Number(value));
    else out.values.set(key, value);
    at += len;
  }
  return out;
}

/** `later` over `earlier`, key by key. */
export function mergePax(earlier: PaxRecords | undefined, later: PaxRecords): PaxRecords {
  if (!earlier) return later;
  return {
    values: new Map([...earlier.values, ...later.values]),
    sparsePairs: later.sparsePairs.length ? later.sparsePairs : earlier.sparsePairs,
  };
}

/** Seconds since the epoch that a Date (and so every file system call) can hold. */
const MAX_SECONDS = 8.64e12;

/** A pax time (`1796159047.983301714`, possibly negative) in seconds, fraction kept, or undefined when it is not one. */
export function paxTime(value: string): number | undefined {
  if (!/^-?\d+(\.\d+)?$/.test(value)) return undefined;
  const seconds = Number(value);
  return Math.abs(seconds) <= MAX_SECONDS ? seconds : undefined;
}

/** Whether `seconds` is a time a file system call can be given. */
export function timeInRange(seconds: number): boolean {
  return Math.abs(seconds) <= MAX_SECONDS;
}

/** A whole non-negative pax number, or undefined. */
export function paxInteger(value: string): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
