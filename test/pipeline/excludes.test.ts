import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathSourceSchema } from '../../src/config/sources.js';
import type { Exclusion, ExclusionOptions } from '../../src/pipeline/exclude.js';
import type { PreparedSource } from '../../src/pipeline/sources/types.js';
import { tarStream } from '../../src/pipeline/tar-writer.js';

const SIGNATURE = 'Signature: 8a477f597d28d172789f06886806bc55';
const noRules: ExclusionOptions = { ifPresent: [], caches: false, oneFileSystem: false };

let root: string;
let n = 0;

/** A fresh source tree: `files` maps relative paths to contents (a trailing slash makes a directory). */
function tree(files: Record<string, string>): string {
  const dir = join(root, `t${n++}`);
  mkdirSync(dir);
  for (const [rel, data] of Object.entries(files)) {
    if (rel.endsWith('/')) mkdirSync(join(dir, rel), { recursive: true });
    else {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), data);
    }
  }
  return dir;
}

/** What the archive of one source would hold (paths below the source, directories with a slash) and what each rule left out. */
async function stored(dir: string, exclude: string[], rules: Partial<ExclusionOptions> = {}) {
  const src: PreparedSource = { as: 's', kind: 'path', fsPath: dir, exclude, rules: { ...noRules, ...rules }, cleanup: async () => {} };
  const paths: string[] = [];
  const excluded: string[] = [];
  const events = {
    onEntry: (e: { path: string; type: string }) => { if (e.path !== 's') paths.push(e.path.slice(2) + (e.type === 'dir' ? '/' : '')); },
    onExcluded: (p: string, rule: Exclusion) => { excluded.push(`${p.slice(2)} ${rule.rule}${rule.pattern ? ` ${rule.pattern}` : ''}`); },
  };
  for await (const _ of tarStream([src], async () => [], events)) { /* consume */ }
  return { paths, excluded };
}

beforeAll(async () => { root = await mkdtemp(join(tmpdir(), 'ferry-excludes-')); });
afterAll(async () => { await rm(root, { recursive: true, force: true }); });

describe('exclude patterns follow .gitignore rules', () => {
  it('a pattern without a slash leaves out that name at any depth, files and directories alike', async () => {
    const dir = tree({ 'a.tmp': '', 'x/y/b.tmp': '', 'x/keep.txt': '', 'node_modules/m.js': '', 'x/node_modules/m.js': '' });
    const { paths } = await stored(dir, ['*.tmp', 'node_modules']);
    expect(paths).toEqual(['x/', 'x/keep.txt', 'x/y/']);
  });

  it('a pattern with a leading or inner slash is anchored at the source root', async () => {
    const dir = tree({ 'data/a.db': '', 'x/data/a.db': '', top: '', 'x/top': '' });
    const { paths } = await stored(dir, ['data/*.db', '/top']);
    expect(paths).toEqual(['data/', 'x/', 'x/data/', 'x/data/a.db', 'x/top']);
  });

  it('a trailing slash matches only directories', async () => {
    const dir = tree({ 'logs/l.txt': '', 'x/logs': 'a file named logs' });
    const { paths } = await stored(dir, ['logs/']);
    expect(paths).toEqual(['x/', 'x/logs']);
  });

  it('! re-includes what an earlier pattern left out, and the last matching pattern wins', async () => {
    const dir = tree({ 'a.log': '', 'keep.log': '', 'x/keep.log': '', 'x/b.log': '' });
    const { paths } = await stored(dir, ['*.log', '!keep.log']);
    expect(paths).toEqual(['keep.log', 'x/', 'x/keep.log']);
    const again = await stored(dir, ['*.log', '!keep.log', 'x/keep.log']);
    expect(again.paths).toEqual(['keep.log', 'x/']);
  });

  it('nothing under an excluded directory comes back with !, as in git', async () => {
    const dir = tree({ 'cache/keep': '', 'cache/other': '' });
    const { paths } = await stored(dir, ['cache/', '!cache/keep']);
    expect(paths).toEqual([]);
  });

  it('dir/** keeps the directory itself, empty; dir/ leaves it out entirely', async () => {
    const dir = tree({ 'cache/sub/x': '' });
    expect((await stored(dir, ['cache/**'])).paths).toEqual(['cache/']);
    expect((await stored(dir, ['cache/'])).paths).toEqual([]);
  });

  it('matching is case-sensitive and dot files are matched like any name', async () => {
    const dir = tree({ 'A.TMP': '', 'b.tmp': '', '.env': '', 'x/.env': '' });
    const { paths } = await stored(dir, ['*.tmp', '.env']);
    expect(paths).toEqual(['A.TMP', 'x/']);
  });

  it('each left-out entry is reported with the pattern that decided it; an excluded directory once, nothing under it', async () => {
    const dir = tree({ 'a.tmp': '', 'cache/1': '', 'cache/2': '', 'x/b.tmp': '' });
    const { excluded } = await stored(dir, ['*.tmp', 'cache/']);
    expect(excluded).toEqual(['a.tmp exclude *.tmp', 'cache exclude cache/', 'x/b.tmp exclude *.tmp']);
  });
});

describe('marker files, caches and sizes', () => {
  it('exclude_if_present leaves out every directory holding the marker, at any depth, but never the source itself', async () => {
    const dir = tree({ '.nobackup': '', 'keep.txt': '', 'scratch/.nobackup': '', 'scratch/big': '', 'a/b/.nobackup': '', 'a/c.txt': '' });
    const { paths, excluded } = await stored(dir, [], { ifPresent: ['.nobackup'] });
    expect(paths).toEqual(['.nobackup', 'a/', 'a/c.txt', 'keep.txt']);
    expect(excluded).toEqual(['a/b exclude_if_present .nobackup', 'scratch exclude_if_present .nobackup']);
  });

  it('exclude_caches leaves out a directory whose CACHEDIR.TAG carries the signature, and only then', async () => {
    const dir = tree({
      'cache/CACHEDIR.TAG': `${SIGNATURE}\n# This file is a cache directory tag.\n`,
      'cache/blob': '',
      'fake/CACHEDIR.TAG': 'Signature: not the right one',
      'short/CACHEDIR.TAG': SIGNATURE.slice(0, 20),
      'tagdir/CACHEDIR.TAG/': '',
      'linked/x': '',
    });
    symlinkSync(join(dir, 'cache', 'CACHEDIR.TAG'), join(dir, 'linked', 'CACHEDIR.TAG'));
    const { paths, excluded } = await stored(dir, [], { caches: true });
    expect(excluded).toEqual(['cache exclude_caches']);
    expect(paths).toEqual(['fake/', 'fake/CACHEDIR.TAG', 'linked/', 'linked/CACHEDIR.TAG', 'linked/x', 'short/', 'short/CACHEDIR.TAG', 'tagdir/', 'tagdir/CACHEDIR.TAG/']);
  });

  it('exclude_larger_than leaves out files over the limit and keeps one of exactly that size', async () => {
    const dir = tree({ 'big.bin': 'x'.repeat(1025), 'edge.bin': 'x'.repeat(1024), 'd/huge.bin': 'x'.repeat(5000) });
    const { paths, excluded } = await stored(dir, [], { largerThan: 1024 });
    expect(paths).toEqual(['d/', 'edge.bin']);
    expect(excluded).toEqual(['big.bin exclude_larger_than', 'd/huge.bin exclude_larger_than']);
  });

  it('exclude_larger_than takes sizes in bytes or with K, M, G, T suffixes (powers of 1024)', () => {
    const limit = (v: unknown) => pathSourceSchema.parse({ path: '.', exclude_larger_than: v }).exclude_larger_than;
    expect(limit('2G')).toBe(2 * 1024 ** 3);
    expect(limit('500M')).toBe(500 * 1024 ** 2);
    expect(limit('1.5KiB')).toBe(1536);
    expect(limit('10k')).toBe(10240);
    expect(limit(4096)).toBe(4096);
    expect(() => limit('2 gigs')).toThrow(/a size such as/);
  });

  it('exclude_if_present names a file, never a path', () => {
    expect(() => pathSourceSchema.parse({ path: '.', exclude_if_present: ['a/.nobackup'] })).toThrow(/a file name, without a slash/);
  });
});
