import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Inventory } from '../../src/pipeline/inventory.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const SIGNATURE = 'Signature: 8a477f597d28d172789f06886806bc55';

function newestArchive(ws: Workspace): string {
  const names = readdirSync(join(ws.dir, 'backups')).filter((f) => /Z\.tar\.gz$/.test(f)).sort();
  expect(names.length).toBeGreaterThan(0);
  return join(ws.dir, 'backups', names.at(-1)!);
}

function tarList(archive: string): string[] {
  return execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).trim().split('\n');
}

describe('excludes people expect', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await workspace();
    await mkdir(join(ws.dir, 'app', 'uploads', 'tmp'), { recursive: true });
    await writeFile(join(ws.dir, 'app', 'uploads', 'tmp', 'part.tmp'), 'partial');
    await writeFile(join(ws.dir, 'app', 'logs', 'old.tmp'), 'old');
    await mkdir(join(ws.dir, 'app', 'scratch'));
    await writeFile(join(ws.dir, 'app', 'scratch', '.nobackup'), '');
    await writeFile(join(ws.dir, 'app', 'scratch', 'work.bin'), 'w');
    await mkdir(join(ws.dir, 'app', 'thumbs'));
    await writeFile(join(ws.dir, 'app', 'thumbs', 'CACHEDIR.TAG'), `${SIGNATURE}\n`);
    await writeFile(join(ws.dir, 'app', 'thumbs', 't1.png'), 'png');
    await writeFile(join(ws.dir, 'app', 'exports', 'dump.iso'), Buffer.alloc(300 * 1024));
  });
  afterAll(async () => { await ws.cleanup(); });

  const source = {
    path: './app',
    as: 'app',
    exclude: ['*.tmp', 'logs/', '!logs/'],
    exclude_if_present: ['.nobackup'],
    exclude_caches: true,
    exclude_larger_than: '256K',
  };

  it('the inventory counts what each rule left out, rules that matched nothing included', async () => {
    await ws.writeConfig(basicConfig({ sources: [{ ...source, exclude: [...source.exclude, 'never-there'] }] }));
    const r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    const archive = newestArchive(ws);
    const inv = JSON.parse(execFileSync('tar', ['-xzOf', archive, 'inventory.json'], { encoding: 'utf8' })) as Inventory;
    expect(inv.sources[0]!.excluded).toEqual([
      { rule: 'exclude', pattern: '*.tmp', count: 2 },
      { rule: 'exclude', pattern: 'logs/', count: 0 },
      { rule: 'exclude', pattern: '!logs/', count: 0 },
      { rule: 'exclude', pattern: 'never-there', count: 0 },
      { rule: 'exclude_if_present', pattern: '.nobackup', count: 1 },
      { rule: 'exclude_caches', count: 1 },
      { rule: 'exclude_larger_than', limit: 256 * 1024, count: 1 },
    ]);
    const text = execFileSync('tar', ['-xzOf', archive, 'inventory.txt'], { encoding: 'utf8' });
    expect(text).toContain('    left out by exclude: *.tmp: 2\n');
    expect(text).toContain('    left out by exclude_caches: 1\n');
    const list = tarList(archive);
    expect(list).toContain('app/logs/app.log');
    expect(list).toContain('app/uploads/tmp/');
    expect(list.filter((p) => /\.tmp$|scratch|thumbs|dump\.iso/.test(p))).toEqual([]);
  });

  it('run --dry-run --list prints exactly what a run stores, and stores nothing', async () => {
    await ws.writeConfig(basicConfig({ sources: [source], targets: { local: { type: 'local', path: './dry', keep: 7 } } }));
    const dry = await ws.run(['run', '--dry-run', '--list']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(existsSync(join(ws.dir, 'dry'))).toBe(false);
    const listed = dry.stdout.split('\n').filter((l) => l.startsWith('app'));
    expect(listed[0]).toBe('app/');
    expect(dry.stdout).toMatch(/^\[dry run\] success/m);

    await ws.writeConfig(basicConfig({ sources: [source] }));
    expect((await ws.run(['run'])).code).toBe(0);
    const stored = tarList(newestArchive(ws)).filter((p) => !p.startsWith('inventory.'));
    expect(listed).toEqual(stored);
  });

  it('--list without --dry-run, or with --json, is a usage error', async () => {
    await ws.writeConfig(basicConfig({ sources: [source] }));
    const alone = await ws.run(['run', '--list']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/--list needs --dry-run/);
    const json = await ws.run(['--json', 'run', '--dry-run', '--list']);
    expect(json.code).toBe(2);
  });

  it('a sqlite source inside a path source is no overlap when a pattern without a slash leaves it out at any depth', async () => {
    await ws.writeConfig(basicConfig({ sources: [{ path: './app', as: 'app', exclude: ['*.db'] }, { sqlite: './app/data/app.db', as: 'db/app.db' }] }));
    const r = await ws.run(['run', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    await ws.writeConfig(basicConfig({ sources: [{ path: './app', as: 'app', exclude: ['/app.db'] }, { sqlite: './app/data/app.db', as: 'db/app.db' }] }));
    const anchored = await ws.run(['run', '--dry-run']);
    expect(anchored.code).toBe(2);
    expect(anchored.stderr).toMatch(/is inside sources\.0\.path/);
  });

  it('one_file_system stores a mount point as an empty directory and nothing of the file system mounted there', async () => {
    const mnt = join(ws.dir, 'app', 'mnt');
    await mkdir(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'none', mnt]);
    try {
      await writeFile(join(mnt, 'other-fs.txt'), 'elsewhere');
      await ws.writeConfig(basicConfig({ sources: [{ path: './app', as: 'app', one_file_system: true }] }));
      const r = await ws.run(['run']);
      expect(r.code, r.stderr).toBe(0);
      const archive = newestArchive(ws);
      const list = tarList(archive);
      expect(list).toContain('app/mnt/');
      expect(list.filter((p) => p.startsWith('app/mnt/') && p !== 'app/mnt/')).toEqual([]);
      expect(list).toContain('app/data/app.db');
      const inv = JSON.parse(execFileSync('tar', ['-xzOf', archive, 'inventory.json'], { encoding: 'utf8' })) as Inventory;
      expect(inv.sources[0]!.excluded).toEqual([{ rule: 'one_file_system', count: 1 }]);

      await ws.writeConfig(basicConfig({ sources: [{ path: './app', as: 'app' }] }));
      expect((await ws.run(['run'])).code).toBe(0);
      expect(tarList(newestArchive(ws))).toContain('app/mnt/other-fs.txt');
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
