import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Header, Pax, type HeaderData } from 'tar';
import { describe, expect, it } from 'vitest';
import { encodeHeader } from '../../src/pipeline/tar-header.js';

/** The header node-tar writes for `data`: the ustar block, after a pax header when one is needed. */
function nodeTar(data: HeaderData): Buffer {
  const header = new Header(data);
  if (!header.encode()) return header.block!;
  const pax = new Pax({ path: data.path, linkpath: data.linkpath, size: data.size, mtime: data.mtime, uid: data.uid, gid: data.gid });
  return Buffer.concat([pax.encode(), header.block!]);
}

/** A deterministic sequence of numbers in [0, 1), so a failure names a case that can be run again. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/ ~+=@,';

function name(rnd: () => number, length: number, extra = ''): string {
  const chars = NAME_CHARS + extra;
  return Array.from({ length }, () => chars[Math.floor(rnd() * chars.length)]).join('');
}

function pick<T>(rnd: () => number, values: T[]): T {
  return values[Math.floor(rnd() * values.length)]!;
}

/** Entries as the tar writer makes them, with names and numbers around every limit of the ustar fields. */
function entries(count: number, seed: number): HeaderData[] {
  const rnd = random(seed);
  const out: HeaderData[] = [];
  for (let i = 0; i < count; i++) {
    const type = pick(rnd, ['File', 'Directory', 'SymbolicLink'] as const);
    const length = pick(rnd, [1, 2, 50, 98, 99, 100, 101, 150, 255, 1 + Math.floor(rnd() * 120)]);
    let path = name(rnd, length, rnd() < 0.1 ? 'é\u0001' : '');
    if (type === 'Directory') path = `${path}/`;
    const mtimeMs = pick(rnd, [0, 999, 1_000, Math.floor(rnd() * 4e12), 8 ** 11 * 1000 - 1000, 8 ** 11 * 1000, -1000, 1_733_000_000_999.7]);
    out.push({
      path,
      type,
      size: type === 'File' ? pick(rnd, [0, 1, 511, 512, Math.floor(rnd() * 2 ** 40), 8 ** 11 - 1, 8 ** 11]) : 0,
      mode: pick(rnd, [0, 0o644, 0o755, 0o7777, Math.floor(rnd() * 0o7777)]),
      uid: pick(rnd, [undefined, 0, 1000, 65534, 8 ** 7 - 1, 8 ** 7, 2 ** 31]),
      gid: pick(rnd, [undefined, 0, 100, 8 ** 7 - 1, 8 ** 7]),
      mtime: new Date(mtimeMs),
      linkpath: type === 'SymbolicLink' ? name(rnd, pick(rnd, [1, 99, 100, 101, 200, 1 + Math.floor(rnd() * 100)]), rnd() < 0.1 ? 'ü' : '') : undefined,
    });
  }
  return out;
}

describe('tar headers', () => {
  it('are byte for byte the ones node-tar writes, for plain entries and for every kind that needs a pax header', () => {
    const cases = entries(5000, 20261203);
    let plain = 0;
    for (const data of cases) {
      const mine = encodeHeader(data);
      expect(mine.equals(nodeTar(data)), JSON.stringify(data)).toBe(true);
      if (mine.length === 512) plain++;
    }
    // Both kinds were there: entries that fit a ustar block alone, and entries that needed a pax header.
    expect(plain).toBeGreaterThan(500);
    expect(cases.length - plain).toBeGreaterThan(500);
  });

  it('of plain entries read back in GNU tar with their names, sizes, modes, owners and times', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-header-'));
    try {
      const mtime = new Date(1_733_000_000_000);
      const parts = [
        encodeHeader({ path: 'app/', type: 'Directory', size: 0, mode: 0o750, uid: 1000, gid: 100, mtime }),
        encodeHeader({ path: 'app/a.json', type: 'File', size: 3, mode: 0o640, uid: 1000, gid: 100, mtime }),
        Buffer.concat([Buffer.from('{}\n'), Buffer.alloc(509)]),
        encodeHeader({ path: 'app/link', type: 'SymbolicLink', size: 0, linkpath: 'a.json', mode: 0o777, uid: 1000, gid: 100, mtime }),
        Buffer.alloc(1024),
      ];
      for (const p of parts.slice(0, 2)) expect(p.length).toBe(512);
      const file = join(dir, 'a.tar');
      writeFileSync(file, Buffer.concat(parts));
      const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', file], { env: { ...process.env, TZ: 'UTC' } }).toString();
      expect(listing.trim().split('\n').map((l) => l.split(/\s+/))).toEqual([
        ['drwxr-x---', '1000/100', '0', '2024-11-30', '20:53:20', 'app/'],
        ['-rw-r-----', '1000/100', '3', '2024-11-30', '20:53:20', 'app/a.json'],
        ['lrwxrwxrwx', '1000/100', '0', '2024-11-30', '20:53:20', 'app/link', '->', 'a.json'],
      ]);
      execFileSync('tar', ['-xf', file, '-C', dir]);
      expect(readFileSync(join(dir, 'app', 'a.json'), 'utf8')).toBe('{}\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
