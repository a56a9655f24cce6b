import { describe, expect, it } from 'vitest';
import { hasDotDot, normalisePath } from '../../src/restore/entry-check.js';
import { checksumOk, numeric } from '../../src/restore/tar-header.js';

// The readings these must agree with, written the plain way: split a path on "/", and trim the text of a header field.
const splitNormal = (path: string) => path.split('/').filter((s) => s !== '' && s !== '.').join('/');
const textNumber = (block: Buffer, start: number, length: number): number | 'refused' => {
  const text = block.toString('latin1', start, start + length).replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : 'refused';
};

/** A small deterministic generator, so a failure names a reproducible case. */
function random(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
}

describe('stored paths have one spelling for every check and write', () => {
  it('./a, a//b, a/./b and a/ mean the same path as their plain spelling, and .. segments stay for the checks to refuse', () => {
    expect(normalisePath('./app/data/x.json')).toBe('app/data/x.json');
    expect(normalisePath('app//data/./x.json/')).toBe('app/data/x.json');
    expect(normalisePath('.')).toBe('');
    expect(normalisePath('/etc/passwd')).toBe('etc/passwd');
    expect(normalisePath('app/../../etc')).toBe('app/../../etc');
    expect(normalisePath('app/.hidden/..x/x..')).toBe('app/.hidden/..x/x..');
  });

  it('every path made of empty, dot, dot-dot and named segments normalises as splitting it on "/" does, and has ".." exactly when a segment is ".."', () => {
    const parts = ['', '.', '..', 'a', '.a', 'a.', '..a', 'a..', '...', 'é'];
    const next = random(7);
    for (let i = 0; i < 20000; i++) {
      const n = 1 + Math.floor(next() * 5);
      const path = Array.from({ length: n }, () => parts[Math.floor(next() * parts.length)]!).join('/');
      const plain = splitNormal(path);
      expect(normalisePath(path), JSON.stringify(path)).toBe(plain);
      expect(hasDotDot(plain), JSON.stringify(plain)).toBe(plain.split('/').includes('..'));
    }
  });
});

describe('tar header numbers read as GNU tar writes them', () => {
  const field = (text: string, length = 12) => {
    const block = Buffer.alloc(length + 4, 0x41); // bytes after the field are not part of it
    block.write(text, 2, 'latin1');
    return block.fill(0, 2 + Buffer.byteLength(text, 'latin1'), 2 + length);
  };

  it('octal digits with spaces or NULs around them; an empty field is 0; anything else is refused', () => {
    expect(numeric(field('0000644\0'), 2, 8, 'mode')).toBe(0o644);
    expect(numeric(field('   1750 \0', 8), 2, 8, 'mode')).toBe(0o1750);
    expect(numeric(field('77777777777\0'), 2, 12, 'size')).toBe(8 ** 11 - 1);
    expect(numeric(field('777777777777'), 2, 12, 'size')).toBe(8 ** 12 - 1);
    expect(numeric(field(''), 2, 12, 'mtime')).toBe(0);
    expect(numeric(field('12\u00a0'), 2, 12, 'uid')).toBe(0o12);
    expect(numeric(field('12\0garbage'), 2, 12, 'uid')).toBe(0o12);
    expect(() => numeric(field('0000648\0'), 2, 12, 'size')).toThrow('size field is not a number');
    expect(() => numeric(field('12 34'), 2, 12, 'size')).toThrow('size field is not a number');
    expect(() => numeric(field('-12'), 2, 12, 'gid')).toThrow('gid field is not a number');
  });

  it('every field of digits, spaces, NULs and stray bytes reads as the trimmed text of the field does', () => {
    const bytes = [0x30, 0x31, 0x37, 0x38, 0x39, 0x20, 0x00, 0x09, 0x0a, 0x0b, 0x0d, 0xa0, 0x85, 0x2b, 0x78];
    const next = random(11);
    for (let i = 0; i < 20000; i++) {
      const length = 1 + Math.floor(next() * 12);
      const block = Buffer.from(Array.from({ length: length + 3 }, () => bytes[Math.floor(next() * bytes.length)]!));
      const expected = textNumber(block, 1, length);
      const label = JSON.stringify(block.toString('latin1', 1, 1 + length));
      if (expected === 'refused') expect(() => numeric(block, 1, length, 'size'), label).toThrow('size field is not a number');
      else expect(numeric(block, 1, length, 'size'), label).toBe(expected);
    }
  });
});

describe('tar header checksums', () => {
  // The sum of the block's bytes with the checksum field as eight spaces, unsigned and signed (as some old tars wrote it).
  const sums = (block: Buffer) => {
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < 512; i++) {
      const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
      unsigned += b;
      signed += b > 127 ? b - 256 : b;
    }
    return { unsigned, signed };
  };
  const withChecksum = (block: Buffer, value: number) => {
    const out = Buffer.from(block);
    out.write(`${value.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    return out;
  };

  it('a header is accepted with its unsigned or its signed checksum, and refused with any other', () => {
    const next = random(5);
    for (let i = 0; i < 2000; i++) {
      const block = Buffer.from(Array.from({ length: 512 }, () => (next() < 0.7 ? Math.floor(next() * 128) : Math.floor(next() * 256))));
      const { unsigned, signed } = sums(block);
      expect(checksumOk(withChecksum(block, unsigned))).toBe(true);
      if (signed >= 0) expect(checksumOk(withChecksum(block, signed))).toBe(true);
      expect(checksumOk(withChecksum(block, unsigned + 1 + Math.floor(next() * 50)))).toBe(false);
    }
  });

  it('a checksum field that is not a number is a bad header, not an error', () => {
    const block = Buffer.alloc(512, 0x61);
    block.write('12x45\0 ', 148, 'latin1');
    expect(checksumOk(block)).toBe(false);
  });
});
