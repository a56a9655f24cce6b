import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace, type Workspace } from '../helpers/cli.js';
import { listTree, type ListedEntry } from '../helpers/tree-listing.js';

const SNAPSHOT = /^app-\d{8}T\d{6}Z$/;

describe('recovery by hand from a local format: tree target, with nothing but cp and rsync', () => {
  let ws: Workspace;
  let src: string;
  let root: string;
  let first: ListedEntry[];
  let second: ListedEntry[];
  const snapshots = () => readdirSync(root).filter((n) => SNAPSHOT.test(n)).sort();

  beforeAll(async () => {
    ws = await workspace();
    src = join(ws.dir, 'src');
    root = join(ws.dir, 'snapshots');
    await mkdir(join(src, 'db'), { recursive: true });
    await mkdir(join(src, 'shared'));
    await mkdir(join(src, 'empty'));
    await writeFile(join(src, 'db', 'app.db'), Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256)));
    await writeFile(join(src, 'notes.txt'), 'first\n');
    await writeFile(join(src, 'tool'), '#!/bin/sh\necho hi\n');
    await chmod(join(src, 'tool'), 0o4750);
    await chmod(join(src, 'shared'), 0o1777);
    await chmod(join(src, 'db', 'app.db'), 0o600);
    await symlink('db/app.db', join(src, 'current.db'));
    await symlink('/nonexistent/elsewhere', join(src, 'dangling'));
    await ws.writeConfig({
      job: 'app',
      state_dir: './state',
      sources: [{ path: src, as: 'data' }],
      targets: { disk: { type: 'local', path: root, keep: 7, format: 'tree' } },
    });
    let r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    first = listTree(src, { mtimes: true });
    await writeFile(join(src, 'notes.txt'), 'second, longer\n');
    await utimes(join(src, 'notes.txt'), new Date('2026-03-04T05:06:07Z'), new Date('2026-03-04T05:06:07Z'));
    r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    second = listTree(src, { mtimes: true });
    expect(snapshots()).toHaveLength(2);
  });
  afterAll(async () => {
    await ws?.cleanup();
  });

  it('cp -a of one file from <job>-latest gives its bytes, mode and mtime as the last run saw them', async () => {
    const out = join(ws.dir, 'out');
    await mkdir(out);
    for (const file of ['db/app.db', 'notes.txt', 'tool']) {
      execFileSync('cp', ['-a', join(root, 'app-latest', 'data', file), out]);
      const name = file.split('/').at(-1)!;
      const [copied] = listTree(out, { mtimes: true, skip: (p) => p !== name });
      expect(copied).toEqual({ ...second.find((e) => e.path === file), path: name });
    }
    execFileSync('cp', ['-a', join(root, 'app-latest', 'data', 'current.db'), out]);
    expect(await readlink(join(out, 'current.db'))).toBe('db/app.db');
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('second, longer\n');
  });

  it('rsync -a of a whole older snapshot gives back the source tree of that run, byte for byte, with modes, mtimes and symlinks, plus the inventory', () => {
    const out2 = join(ws.dir, 'out2');
    const older = snapshots()[0]!;
    execFileSync('rsync', ['-a', `${join(root, older)}/`, `${out2}/`]);
    expect(readdirSync(out2).sort()).toEqual(['data', 'inventory.json', 'inventory.txt']);
    expect(listTree(join(out2, 'data'), { mtimes: true })).toEqual(first);
    expect(listTree(join(out2, 'data'), { mtimes: true })).not.toEqual(second);
  });

  it('rsync -a of the newest snapshot gives back the last run\'s tree, and the inventory\'s sums check with sha256sum', async () => {
    const out3 = join(ws.dir, 'out3');
    execFileSync('rsync', ['-a', `${join(root, snapshots()[1]!)}/`, `${out3}/`]);
    expect(listTree(join(out3, 'data'), { mtimes: true })).toEqual(second);
    // The README's check: every file against inventory.json.
    const sums = execFileSync('jq', ['-r', '.sources[].entries[] | "\\(.sha256)  \\(.path)"', 'inventory.json'], { cwd: out3, encoding: 'utf8' });
    expect(sums.trim().split('\n')).toHaveLength(3);
    execFileSync('sha256sum', ['-c', '--quiet'], { cwd: out3, input: sums });
    // The snapshots share the unchanged files: one inode, two names.
    const [a, b] = snapshots().map((s) => join(root, s, 'data', 'db', 'app.db'));
    expect((await lstat(a!)).ino).toBe((await lstat(b!)).ino);
  });
});
