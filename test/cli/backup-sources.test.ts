import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Inventory } from '../../src/pipeline/inventory.js';
import { basicConfig, collect, FERRY, workspace, type CliResult, type Workspace } from '../helpers/cli.js';

/** The archives in the local target, oldest first. */
async function archives(ws: Workspace): Promise<string[]> {
  return (await readdir(join(ws.dir, 'backups'))).filter((f) => /Z\.tar\.gz$/.test(f)).sort();
}

function member(ws: Workspace, archive: string, name: string): string {
  return execFileSync('tar', ['-xzOf', join(ws.dir, 'backups', archive), name], { encoding: 'utf8' });
}

function inventoryOf(ws: Workspace, archive: string): Inventory {
  return JSON.parse(member(ws, archive, 'inventory.json')) as Inventory;
}

function listing(ws: Workspace, archive: string): string[] {
  return execFileSync('tar', ['-tzf', join(ws.dir, 'backups', archive)], { encoding: 'utf8' }).trim().split('\n');
}

/**
 * Runs `ferry run` as root but without the two capabilities that let root
 * ignore file modes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), dropped from
 * the bounding set so the kernel really refuses reads that the modes deny.
 * Unlike switching to an unprivileged user, this works wherever the
 * repository is checked out.
 */
function runWithoutDacOverride(ws: Workspace): Promise<CliResult> {
  const drop = '-dac_override,-dac_read_search';
  const child = spawn('setpriv', ['--bounding-set', drop, '--inh-caps', drop, '--', process.execPath, FERRY, 'run'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child).done;
}

describe('backup sources: everything the config names is stored, or the run says so', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('a source that is a symlink to a directory is stored as that directory, and the inventory names the real path', async () => {
    await symlink(join(ws.dir, 'app'), join(ws.dir, 'app-link'));
    await ws.writeConfig(basicConfig({ sources: [{ path: './app-link', as: 'app' }] }));
    const r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    const [archive] = await archives(ws);
    const inv = inventoryOf(ws, archive!);
    expect(inv.sources[0]!.resolved).toBe(join(ws.dir, 'app'));
    expect(inv.sources[0]!.files).toBeGreaterThan(1);
    expect(listing(ws, archive!)).toContain('app/');
    expect(member(ws, archive!, 'inventory.txt')).toMatch(/app-link .*a symlink to /);
  });

  it('files and directories the run cannot read are listed in the inventory as unreadable, and the rest is stored', async () => {
    // Root reads everything whatever the mode bits, so the run goes without the capabilities that
    // allow that (see runWithoutDacOverride): mode 000 then really denies the reads.
    await mkdir(join(ws.dir, 'app', 'locked-dir'));
    await writeFile(join(ws.dir, 'app', 'locked-dir', 'inner.txt'), 'hidden');
    await writeFile(join(ws.dir, 'app', 'locked.txt'), 'hidden');
    await ws.writeConfig(basicConfig());
    await chmod(join(ws.dir, 'app', 'locked-dir'), 0o000);
    await chmod(join(ws.dir, 'app', 'locked.txt'), 0o000);
    const r = await runWithoutDacOverride(ws);
    // Stored, but it needs attention: exit 3, and last_run.json names the files.
    expect(r.code, r.stderr).toBe(3);
    const lastRun = JSON.parse(readFileSync(join(ws.dir, 'state', 'last_run.json'), 'utf8')) as { status: string; attention?: { unreadable: { path: string }[] } };
    expect(lastRun.status).toBe('partial');
    expect(lastRun.attention?.unreadable.map((u) => u.path)).toEqual(['app/locked-dir', 'app/locked.txt']);
    const [archive] = await archives(ws);
    const inv = inventoryOf(ws, archive!);
    expect(inv.unreadable).toEqual([
      { path: 'app/locked-dir', message: 'directory could not be read (EACCES); not stored' },
      { path: 'app/locked.txt', message: 'file could not be opened (EACCES); not stored' },
    ]);
    expect(inv.warnings).toEqual([]);
    expect(listing(ws, archive!)).toContain('app/current-config.yaml');
    expect(member(ws, archive!, 'inventory.txt')).toMatch(/Could not be read \(not stored\):\n {2}app\/locked-dir: .*EACCES/);
  });

  it('a file name that is not valid UTF-8 is stored exactly: GNU tar extracts the same bytes and the inventory keeps them as path_b64', async () => {
    const name = Buffer.from([0x72, 0xe9, 0x73, 0x75, 0x6d, 0xe9]); // "résumé" in Latin-1
    await writeFile(Buffer.concat([Buffer.from(join(ws.dir, 'app') + '/'), name]), 'cv');
    await ws.writeConfig(basicConfig());
    const r = await ws.run(['run']);
    expect(r.code, r.stderr).toBe(0);
    const [archive] = await archives(ws);
    const inv = inventoryOf(ws, archive!);
    expect(inv.warnings).toEqual([]);
    const entry = inv.sources[0]!.entries.find((e) => e.path_b64 !== undefined);
    expect(Buffer.from(entry!.path_b64!, 'base64')).toEqual(Buffer.concat([Buffer.from('app/'), name]));
    expect(entry!.path).toBe('app/r\uFFFDsum\uFFFD');
    await mkdir(join(ws.dir, 'out'));
    execFileSync('tar', ['-xzf', join(ws.dir, 'backups', archive!), '-C', join(ws.dir, 'out')]);
    expect(readFileSync(Buffer.concat([Buffer.from(join(ws.dir, 'out', 'app') + '/'), name]), 'utf8')).toBe('cv');
  });

  it('every new inventory lists unreadable files, an empty list when all was read', async () => {
    await ws.writeConfig(basicConfig());
    expect((await ws.run(['run'])).code).toBe(0);
    const [archive] = await archives(ws);
    expect(inventoryOf(ws, archive!).unreadable).toEqual([]);
  });

  it('a source that is a FIFO is a config error (exit 2) naming the source', async () => {
    execFileSync('mkfifo', [join(ws.dir, 'pipe')]);
    await ws.writeConfig(basicConfig({ sources: [{ path: './app', as: 'app' }, { path: './pipe', as: 'pipe' }] }));
    const r = await ws.run(['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/sources\.1\.path: \.\/pipe is a FIFO; only directories and files can be backed up/);
    await expect(readdir(join(ws.dir, 'backups'))).rejects.toThrow();
  });

  it.each([
    {
      name: 'a path source that contains a sqlite source\'s file',
      sources: [{ path: './app', as: 'app' }, { sqlite: './app/data/app.db', as: 'db/app.db' }],
      message: /sources\.1\.sqlite: \.\/app\/data\/app\.db is inside sources\.0\.path \(\.\/app\), so it would be stored twice/,
    },
    {
      name: 'two path sources where one contains the other (through a symlink)',
      setup: (dir: string) => symlink(join(dir, 'app'), join(dir, 'app-link')),
      sources: [{ path: './app-link', as: 'app' }, { path: './app/data', as: 'data' }],
      message: /sources\.1\.path: \.\/app\/data is inside sources\.0\.path \(\.\/app-link\)/,
    },
    {
      name: 'two sources whose archive paths nest',
      sources: [{ path: './app', as: 'app' }, { command: 'echo hi', as: 'app/extra.txt' }],
      message: /sources\.1\.as: "app\/extra\.txt" and "app" of sources\.0 nest inside each other/,
    },
  ])('overlapping sources are a config error naming both: $name', async ({ sources, setup, message }) => {
    await setup?.(ws.dir);
    await writeFile(join(ws.dir, 'app', 'data', 'app.db'), '');
    await ws.writeConfig(basicConfig({ sources }));
    const r = await ws.run(['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    await expect(readdir(join(ws.dir, 'backups'))).rejects.toThrow();
  });

  it('a sqlite file that the path source excludes is no overlap', async () => {
    await ws.writeConfig(basicConfig({ sources: [{ path: './app', as: 'app', exclude: ['data/*.db'] }, { sqlite: './app/data/app.db', as: 'db/app.db' }] }));
    const r = await ws.run(['check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/stored twice/);
  });

  it('Ferry\'s own target, state and staging directories inside a path source are left out and listed, so no archive holds an earlier one', async () => {
    await mkdir(join(ws.dir, 'staging'));
    await ws.writeConfig(basicConfig({ sources: [{ path: '.', as: 'all' }], staging_dir: './staging' }));
    const first = await ws.run(['run']);
    expect(first.code, first.stderr).toBe(0);
    const second = await ws.run(['run']);
    expect(second.code, second.stderr).toBe(0);
    const [, archive] = await archives(ws);
    const names = listing(ws, archive!);
    expect(names).toContain('all/app/current-config.yaml');
    expect(names.filter((n) => /^all\/(backups|state|staging)\//.test(n))).toEqual([]);
    expect(inventoryOf(ws, archive!).sources[0]!.excludes).toEqual([
      { path: 'all/backups', reason: 'target local' },
      { path: 'all/state', reason: 'state_dir' },
      { path: 'all/staging', reason: 'staging_dir' },
    ]);
  });
});
