import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { craftTarGz, plantArchive, type CraftEntry } from '../helpers/archive.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const NAME = 'app-20261101T031500Z.tar.gz';

describe('restore --force never deletes what the archive does not replace', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig());
    await mkdir(join(ws.dir, 'backups'));
    await plantArchive(join(ws.dir, 'backups'), 'app', NAME, craftTarGz([
      { path: 'app', type: 'Directory' },
      { path: 'app/config', type: 'Directory' },
      { path: 'app/config/a.txt', data: 'new a' },
      { path: 'app/notes', data: 'a file in the archive' },
      { path: 'app/link', type: 'SymbolicLink', linkpath: 'config' },
    ]));
    await mkdir(join(ws.dir, 'dest', 'app', 'config'), { recursive: true });
    await writeFile(join(ws.dir, 'dest', 'app', 'config', 'a.txt'), 'old a');
    await writeFile(join(ws.dir, 'dest', 'app', 'config', 'mine.txt'), 'mine');
  });
  afterEach(async () => { await ws.cleanup(); });

  it('same-named files are replaced and other files stay', async () => {
    const r = await ws.run(['restore', '--to', 'dest', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(ws.dir, 'dest', 'app', 'config', 'a.txt'), 'utf8')).toBe('new a');
    expect(await readFile(join(ws.dir, 'dest', 'app', 'config', 'mine.txt'), 'utf8')).toBe('mine');
    expect(await readlink(join(ws.dir, 'dest', 'app', 'link'))).toBe('config');
  });

  for (const [what, make] of [
    ['a directory where the archive has a file', async (p: string) => { await mkdir(p); await writeFile(join(p, 'inside.txt'), 'precious'); }],
    ['a file where the archive has a symlink', (p: string) => writeFile(p, 'precious')],
    ['a symlink where the archive has a file', (p: string) => symlink('config', p)],
  ] as const) {
    it(`${what} is refused naming the path, and nothing is removed or replaced`, async () => {
      const at = join(ws.dir, 'dest', 'app', what.endsWith('a file') ? 'notes' : 'link');
      await make(at);
      const before = await snapshot(join(ws.dir, 'dest'));
      const r = await ws.run(['restore', '--to', 'dest', '--force']);
      expect(r.code).toBe(1);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('ferry: '));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(at);
      expect(await snapshot(join(ws.dir, 'dest'))).toEqual(before);
    });
  }

  it('a file where the archive has a directory is refused, and the file stays', async () => {
    await mkdir(join(ws.dir, 'dest2', 'app'), { recursive: true });
    await writeFile(join(ws.dir, 'dest2', 'app', 'config'), 'precious');
    const r = await ws.run(['restore', '--to', 'dest2', '--force']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(ws.dir, 'dest2', 'app', 'config'));
    expect(await readFile(join(ws.dir, 'dest2', 'app', 'config'), 'utf8')).toBe('precious');
    expect(await readdir(join(ws.dir, 'dest2', 'app'))).toEqual(['config']);
  });
});

describe('restore --only and --source select exactly', () => {
  let ws: Workspace;
  const entries: CraftEntry[] = [
    { path: 'app', type: 'Directory' },
    { path: 'app/a.txt', data: 'a' },
    { path: 'app/sub', type: 'Directory' },
    { path: 'app/sub/b.txt', data: 'b' },
    { path: 'apple', data: 'not app' },
    { path: 'data', data: 'a file named data' },
    { path: 'odd', type: 'Directory' },
    { path: 'odd/star*', data: 'star' },
    { path: 'odd/stardust', data: 'not the star' },
    { path: 'odd/line\nbreak', data: 'newline' },
    { path: 'odd/.hidden', data: 'dot' },
    { path: 'odd/br[1]', data: 'bracket' },
  ];
  beforeEach(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig());
    await mkdir(join(ws.dir, 'backups'));
    await plantArchive(join(ws.dir, 'backups'), 'app', NAME, craftTarGz(entries));
  });
  afterEach(async () => { await ws.cleanup(); });

  it('--only app restores the directory and everything under it, and nothing else', async () => {
    const r = await ws.run(['restore', '--to', 'out', '--only', 'app']);
    expect(r.code, r.stderr).toBe(0);
    expect(await snapshot(join(ws.dir, 'out'))).toEqual({ 'app/': '', 'app/a.txt': 'a', 'app/sub/': '', 'app/sub/b.txt': 'b' });
  });

  it('names with newlines, *, [ and leading dots are matched as they are', async () => {
    const r = await ws.run(['restore', '--to', 'out', '--only', 'odd/line\nbreak', '--only', 'odd/.hidden', '--only', 'odd/br[1]', '--only', 'odd/star*']);
    expect(r.code, r.stderr).toBe(0);
    const got = await snapshot(join(ws.dir, 'out'));
    expect(got).toMatchObject({ 'odd/line\nbreak': 'newline', 'odd/.hidden': 'dot', 'odd/br[1]': 'bracket', 'odd/star*': 'star' });
    expect(got['apple']).toBeUndefined();
  });

  it('a file named data is not selected by --only data/x: that selects nothing, exit 1 naming the pattern', async () => {
    const r = await ws.run(['restore', '--to', 'out', '--only', 'data/x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/"data\/x" matched nothing in app-20261101T031500Z\.tar\.gz/);
    expect(await readdir(ws.dir)).not.toContain('out');
  });

  it('--source restores exactly that source, and a source with no entries in the archive is exit 1 naming it', async () => {
    const manifestPath = join(ws.dir, 'backups', `${NAME}.manifest.json`);
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.sources = ['app', 'apple', 'ghost'].map((as) => ({ as, kind: 'path', files: 1, bytes: 1 }));
    await writeFile(manifestPath, JSON.stringify(manifest));
    const r = await ws.run(['restore', '--to', 'out', '--source', 'app']);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(await snapshot(join(ws.dir, 'out')))).toEqual(['app/', 'app/a.txt', 'app/sub/', 'app/sub/b.txt']);
    const ghost = await ws.run(['restore', '--to', 'out2', '--source', 'ghost']);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toMatch(/"ghost".* matched nothing/);
    expect(await readdir(ws.dir)).not.toContain('out2');
  });

  it('--only patterns that match nothing are exit 1 with every pattern named, not exit 0 with 0 files', async () => {
    const r = await ws.run(['restore', '--to', 'out', '--only', 'missing', '--only', 'nope/*']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/"missing", "nope\/\*" matched nothing/);
  });

  for (const name of ['other-20261101T031500Z.tar.gz', '../x', 'app-latest.tar.gz']) {
    it(`restoring ${name}, which is not an archive name of this job, is a usage error (exit 2) naming it, before any target is read`, async () => {
      for (const args of [['restore', name, '--to', 'out'], ['pull', name], ['verify', name]]) {
        const r = await ws.run(args);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`"${name}" is not an archive name of job app`);
      }
      expect(await readdir(ws.dir)).not.toContain('out');
    });
  }
});

/** Every path under `dir` (directories with a trailing slash) with file contents or link targets. */
async function snapshot(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(join(dir, prefix))).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const s = await lstat(join(dir, rel));
    if (s.isSymbolicLink()) out[rel] = `-> ${await readlink(join(dir, rel))}`;
    else if (s.isDirectory()) Object.assign(out, { [`${rel}/`]: '' }, await snapshot(dir, rel));
    else out[rel] = await readFile(join(dir, rel), 'utf8');
  }
  return out;
}
