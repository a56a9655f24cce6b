/** Byte-exact tar building blocks for reader tests: no normalising, no checks, names as given. */

export interface RawHeaderFields {
  name: string | Buffer;
  /** Tar typeflag: '0' file, '1' hard link, '2' symlink, '5' directory, 'x' pax, ... */
  type?: string;
  size?: number;
  linkname?: string | Buffer;
  mode?: number;
  mtime?: number;
}

const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, '0')}\0`;

/** One ustar header block with a correct checksum. */
export function header(f: RawHeaderFields): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from(f.name).copy(b, 0, 0, 100);
  b.write(octal(f.mode ?? (f.type === '5' ? 0o755 : 0o644), 8), 100, 'latin1');
  b.write(octal(0, 8), 108, 'latin1');
  b.write(octal(0, 8), 116, 'latin1');
  b.write(octal(f.size ?? 0, 12), 124, 'latin1');
  b.write(octal(f.mtime ?? 1_700_000_000, 12), 136, 'latin1');
  b.write(f.type ?? '0', 156, 'latin1');
  if (f.linkname) Buffer.from(f.linkname).copy(b, 157, 0, 100);
  b.write('ustar\u000000', 257, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

/** Content padded to whole blocks. */
export function body(data: string | Buffer): Buffer {
  const d = Buffer.from(data);
  return Buffer.concat([d, Buffer.alloc((512 - (d.length % 512)) % 512)]);
}

/** A regular file entry: header and content. */
export function file(name: string | Buffer, data: string | Buffer, extra: Partial<RawHeaderFields> = {}): Buffer {
  return Buffer.concat([header({ name, size: Buffer.byteLength(data), ...extra }), body(data)]);
}

/** A pax extended header (typeflag `x`) holding these records, values as raw bytes. */
export function pax(records: [string, string | Buffer][], type = 'x'): Buffer {
  const lines = records.map(([k, v]) => {
    const rest = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len++;
    return Buffer.concat([Buffer.from(String(len)), rest]);
  });
  const data = Buffer.concat(lines);
  return Buffer.concat([header({ name: 'PaxHeaders/x', type, size: data.length }), body(data)]);
}

/** The standard end of archive: two zero blocks. */
export const END = Buffer.alloc(1024);
