import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { craftTarGz, plantArchive } from '../helpers/archive.js';
import { END, file, header } from '../helpers/raw-tar.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const sh = (cmd: string, cwd: string) => execFileSync('/bin/sh', ['-c', cmd], { cwd, encoding: 'utf8' });

describe('restore never damages the destination', () => {
  let ws: Workspace;
  let archive: string;
  beforeEach(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig());
    expect((await ws.run(['run'])).code).toBe(0);
    archive = (await readdir(join(ws.dir, 'backups'))).find((f) => f.endsWith('Z.tar.gz'))!;
    await mkdir(join(ws.dir, 'dest'));
    await writeFile(join(ws.dir, 'dest', 'precious.txt'), 'keep me');
  });
  afterEach(async () => { await ws.cleanup(); });

  async function expectDestUntouched() {
    expect(await readdir(join(ws.dir, 'dest'))).toEqual(['precious.txt']);
    expect(await readFile(join(ws.dir, 'dest', 'precious.txt'), 'utf8')).toBe('keep me');
    expect((await readdir(ws.dir)).filter((n) => n.includes('ferry-restore'))).toEqual([]);
  }

  it('a bit-flipped archive fails restore as damaged, and the destination is untouched', async () => {
    const path = join(ws.dir, 'backups', archive);
    const bytes = await readFile(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    await writeFile(path, bytes);
    const r = await ws.run(['restore', '--to', 'dest', '--force']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/damaged: sha256 .* does not match/);
    await expectDestUntouched();
  });

  it('a truncated archive fails restore as truncated, and the destination is untouched', async () => {
    const path = join(ws.dir, 'backups', archive);
    await truncate(path, 5000);
    const r = await ws.run(['restore', '--to', 'dest', '--force']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/damaged: truncated: 5000 of \d+ bytes/);
    await expectDestUntouched();
  });

  it('verify reports a damaged archive and a good one', async () => {
    const good = await ws.run(['verify', '--json']);
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout).reports[0]).toMatchObject({ ok: true, archive, contents_read: true });
    await truncate(join(ws.dir, 'backups', archive), 3000);
    const bad = await ws.run(['verify']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAILED: .*truncated/);
  });

  const crafted: [string, Parameters<typeof craftTarGz>[0], RegExp][] = [
    ['a "../evil" entry', [{ path: 'ok.txt', data: 'fine' }, { path: '../evil', data: 'pwned' }], /refusing archive entry "\.\.\/evil": path contains "\.\."/],
    ['an absolute path', [{ path: '/tmp/ferry-evil-abs', data: 'pwned' }], /refusing archive entry "\/tmp\/ferry-evil-abs": absolute path/],
    ['a write through a symlink stored earlier', [
      { path: 'link', type: 'SymbolicLink', linkpath: '/tmp' },
      { path: 'link/ferry-evil-link', data: 'pwned' },
    ], /refusing archive entry "link\/ferry-evil-link": it would be written through the symlink "link"/],
    ['a hard link out of the destination', [{ path: 'hard', type: 'Link', linkpath: '../../etc/hostname' }], /refusing archive entry "hard": hard link to "\.\.\/\.\.\/etc\/hostname" leaves the destination/],
  ];
  for (const [what, entries, message] of crafted) {
    it(`refuses an archive with ${what}, writing nothing anywhere, and verify fails it too`, async () => {
      const name = 'app-20200101T000000Z.tar.gz';
      await plantArchive(join(ws.dir, 'backups'), 'app', name, craftTarGz(entries));
      const r = await ws.run(['restore', name, '--to', 'dest/sub', '--force']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      await expectDestUntouched();
      expect(existsSync(join(ws.dir, 'evil'))).toBe(false);
      expect(existsSync('/tmp/ferry-evil-abs')).toBe(false);
      expect(existsSync('/tmp/ferry-evil-link')).toBe(false);
      const v = await ws.run(['verify', name]);
      expect(v.code).toBe(1);
      expect(v.stdout).toMatch(message);
    });
  }

  // The symlink "link" points at <workspace>/outside; every other entry reaches it by another spelling.
  const spelled: [string, (outside: string) => Buffer[], RegExp][] = [
    ['"./link/x" (a symlink through the symlink)', (o) => [header({ name: 'link', type: '2', linkname: o }), header({ name: './link/evil', type: '2', linkname: '/etc/hostname' })],
      /refusing archive entry "\.\/link\/evil": it would be written through the symlink "link"/],
    ['"link//x"', (o) => [header({ name: 'link', type: '2', linkname: o }), file('link//evil', 'pwned')],
      /refusing archive entry "link\/\/evil": it would be written through the symlink "link"/],
    ['"link/./x"', (o) => [header({ name: './link/.', type: '2', linkname: o }), file('link/./evil', 'pwned')],
      /refusing archive entry "link\/\.\/evil": it would be written through the symlink "link"/],
    ['a hard link whose target is spelled "./link/x"', (o) => [header({ name: 'link', type: '2', linkname: o }), header({ name: 'hard', type: '1', linkname: './link/victim' })],
      /refusing archive entry "hard": hard link to "\.\/link\/victim" goes through the symlink "link"/],
    ['a hard link stored before the symlink its target goes through', (o) => [header({ name: 'hard', type: '1', linkname: 'link/victim' }), header({ name: 'link/', type: '2', linkname: o })],
      /refusing archive entry "hard": hard link to "link\/victim" goes through the symlink "link"/],
    ['a symlink replacing a directory spelled "dir/."', () => [header({ name: 'dir/', type: '5' }), file('dir/f', 'x'), header({ name: 'dir/.', type: '2', linkname: '/' })],
      /refusing archive entry "dir\/\.": it would replace the directory "dir"/],
  ];
  for (const [what, entries, message] of spelled) {
    it(`never writes outside the destination, whatever the spelling: ${what}; verify fails it too`, async () => {
      const outside = join(ws.dir, 'outside');
      await mkdir(outside);
      await writeFile(join(outside, 'victim'), 'untouched');
      const name = 'app-20200101T000000Z.tar.gz';
      await plantArchive(join(ws.dir, 'backups'), 'app', name, gzipSync(Buffer.concat([...entries(outside), END])));
      const r = await ws.run(['restore', name, '--to', 'dest/sub', '--force']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      await expectDestUntouched();
      expect(await readdir(outside)).toEqual(['victim']);
      expect(sh('stat -c %h outside/victim', ws.dir).trim()).toBe('1');
      const v = await ws.run(['verify', name]);
      expect(v.code).toBe(1);
      expect(v.stdout).toMatch(message);
    });
  }

  it('keeps symlinks exactly as stored, even absolute ones', async () => {
    const name = 'app-20200101T000000Z.tar.gz';
    await plantArchive(join(ws.dir, 'backups'), 'app', name, craftTarGz([
      { path: 'd', type: 'Directory' },
      { path: 'd/abs', type: 'SymbolicLink', linkpath: '/etc/hostname' },
      { path: 'd/up', type: 'SymbolicLink', linkpath: '../../outside' },
    ]));
    const r = await ws.run(['restore', name, '--to', 'links']);
    expect(r.code, r.stderr).toBe(0);
    expect(sh('readlink links/d/abs links/d/up', ws.dir)).toBe('/etc/hostname\n../../outside\n');
  });

  it('restores hard links inside the archive, and fills read-only directories before closing them', async () => {
    const name = 'app-20200101T000000Z.tar.gz';
    await plantArchive(join(ws.dir, 'backups'), 'app', name, craftTarGz([
      { path: 'ro', type: 'Directory', mode: 0o555 },
      { path: 'ro/a.txt', data: 'same inode' },
      { path: 'ro/b.txt', type: 'Link', linkpath: 'ro/a.txt' },
    ]));
    const r = await ws.run(['restore', name, '--to', 'hl']);
    expect(r.code, r.stderr).toBe(0);
    expect(sh('stat -c %i hl/ro/a.txt hl/ro/b.txt | uniq | wc -l', ws.dir).trim()).toBe('1');
    expect(await readFile(join(ws.dir, 'hl/ro/b.txt'), 'utf8')).toBe('same inode');
    expect(sh('stat -c %a hl/ro', ws.dir).trim()).toBe('555');
  });
});
