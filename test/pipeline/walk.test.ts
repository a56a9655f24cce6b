import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PreparedSource } from '../../src/pipeline/sources/types.js';
import { tarStream } from '../../src/pipeline/tar-writer.js';

const source = (fsPath: string, as = 's'): PreparedSource => ({ as, kind: 'path', fsPath, exclude: [], cleanup: async () => {} });

/**
 * Builds the tar of one source; `beforeOpen` runs at the exact point where
 * the walk has listed an entry and is about to open it, which is where a
 * local user racing a root backup would swap a directory for a symlink.
 * This makes the race deterministic instead of depending on timing.
 */
async function tarOf(src: PreparedSource, beforeOpen?: (archivePath: string) => void, onFile?: (archivePath: string) => void) {
  const warnings: string[] = [];
  const chunks: Buffer[] = [];
  const events = { onWarning: (p: string, m: string) => warnings.push(`${p}: ${m}`), beforeOpen, onFile: (f: { path: string }) => onFile?.(f.path) };
  for await (const c of tarStream([src], async () => [], events)) chunks.push(c);
  const tar = Buffer.concat(chunks);
  return { tar, warnings, list: execFileSync('tar', ['-tvf', '-'], { input: tar, encoding: 'utf8' }) };
}

describe('the walk never reads outside the source', () => {
  let dir: string;
  let src: string;
  let outside: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-walk-'));
    src = join(dir, 'src');
    outside = join(dir, 'outside');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub', 'a.txt'), 'inside');
    writeFileSync(join(src, 'file.txt'), 'inside');
    mkdirSync(join(src, 'deep', 'x', 'y'), { recursive: true });
    writeFileSync(join(src, 'deep', 'x', 'a.txt'), 'inside');
    writeFileSync(join(src, 'deep', 'x', 'y', 'z.txt'), 'inside-deep');
    mkdirSync(join(outside, 'x', 'y'), { recursive: true });
    writeFileSync(join(outside, 'secret.txt'), 'SECRET');
    writeFileSync(join(outside, 'x', 'y', 'z.txt'), 'SECRET');
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('a directory swapped for a symlink just before it is opened is reported and never followed', async () => {
    const { tar, warnings, list } = await tarOf(source(src), (p) => {
      if (p !== 's/sub') return;
      rmSync(join(src, 'sub'), { recursive: true });
      symlinkSync(outside, join(src, 'sub'));
    });
    expect(tar.includes('SECRET')).toBe(false);
    expect(list).not.toMatch(/secret\.txt/);
    expect(warnings).toContain('s/sub: directory was replaced while being read; not stored');
    expect(list).toMatch(/s\/file\.txt/);
  });

  it('a file swapped for a symlink just before it is opened is reported and never followed', async () => {
    const { tar, warnings, list } = await tarOf(source(src), (p) => {
      if (p !== 's/file.txt') return;
      unlinkSync(join(src, 'file.txt'));
      symlinkSync(join(outside, 'secret.txt'), join(src, 'file.txt'));
    });
    expect(tar.includes('SECRET')).toBe(false);
    expect(list).not.toMatch(/s\/file\.txt/);
    expect(warnings).toContain('s/file.txt: file was replaced while being read; not stored');
  });

  it('a parent directory swapped for a symlink while the walk is inside it never redirects the walk', async () => {
    // Swapped right after s/deep/x/a.txt is stored, before the walk reaches s/deep/x/y.
    const { tar, list } = await tarOf(source(src), undefined, (p) => {
      if (p !== 's/deep/x/a.txt') return;
      renameSync(join(src, 'deep'), join(dir, 'moved-away'));
      symlinkSync(outside, join(src, 'deep'));
    });
    expect(tar.includes('SECRET')).toBe(false);
    // What was already opened is read from the directories the walk holds open.
    expect(tar.includes('inside-deep')).toBe(true);
    expect(list).toMatch(/s\/deep\/x\/y\/z\.txt/);
  });
});

describe('a source that is a symlink', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-walk-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('to a directory is stored as that directory, while symlinks inside it stay symlinks', async () => {
    mkdirSync(join(dir, 'real', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'real', 'sub', 'f.txt'), 'data');
    symlinkSync('sub/f.txt', join(dir, 'real', 'inner-link'));
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    const { list, warnings } = await tarOf(source(join(dir, 'link')));
    expect(warnings).toEqual([]);
    expect(list).toMatch(/^d.* s\/$/m);
    expect(list).toMatch(/^-.* s\/sub\/f\.txt$/m);
    expect(list).toMatch(/^l.* s\/inner-link -> sub\/f\.txt$/m);
  });
});
