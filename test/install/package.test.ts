import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const run = promisify(execFile);
/** npm, offline unless `online`: the local cache `npm install` filled holds the tarballs, not always the registry's package documents. */
const npm = (args: string[], cwd: string, online = false) => run('npm', [...args, online ? '--prefer-offline' : '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } });
const version = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version as string;

describe('ferry installs like other tools', () => {
  let tmp: string;
  beforeAll(async () => { tmp = await mkdtemp(join(tmpdir(), 'ferry-install-')); });
  afterAll(async () => { await rm(tmp, { recursive: true, force: true }); });

  it('npm pack makes a tarball that installs globally with a working `ferry` bin', async () => {
    const { stdout } = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], ROOT);
    const [{ filename, files }] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    expect(files.map((f) => f.path)).toContain('dist/src/cli/ferry.js');
    expect(files.map((f) => f.path).filter((p) => p.startsWith('test/') || p.startsWith('node_modules/'))).toEqual([]);
    const prefix = join(tmp, 'global');
    // A tarball installs its dependencies from the registry, as for any user; native modules are
    // not built here (no scripts), as `--version` needs none of them.
    await npm(['install', '-g', '--prefix', prefix, '--ignore-scripts', join(tmp, filename)], tmp, true);
    const { stdout: v } = await run(join(prefix, 'bin', 'ferry'), ['--version']);
    expect(v.trim()).toBe(version);
  }, 300_000);

  it('npm install -g . from a clone puts `ferry` on PATH, and ferry systemd points at the real path behind it', async () => {
    const prefix = join(tmp, 'linked');
    await npm(['install', '-g', '--prefix', prefix, '--ignore-scripts', ROOT], ROOT);
    const bin = join(prefix, 'bin', 'ferry');
    expect((await run(bin, ['--version'])).stdout.trim()).toBe(version);
    const units = await run(bin, ['-c', join(ROOT, 'backup.config.yaml'), 'systemd', '--user', '--timer', '--on-calendar', 'daily'], { env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` } });
    expect(units.stdout).toMatch(new RegExp(`^ExecStart=\\S+ ${(await realpath(join(ROOT, 'dist', 'src', 'cli', 'ferry.js'))).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} run `, 'm'));
  }, 300_000);

  it('a fresh npm install leaves package-lock.json unchanged', async () => {
    const dir = join(tmp, 'lock');
    await run('mkdir', [dir]);
    for (const f of ['package.json', 'package-lock.json']) await copyFile(join(ROOT, f), join(dir, f));
    await npm(['install', '--package-lock-only', '--ignore-scripts'], dir);
    expect(await readFile(join(dir, 'package-lock.json'), 'utf8')).toBe(await readFile(join(ROOT, 'package-lock.json'), 'utf8'));
    expect(await readdir(dir)).toEqual(['package-lock.json', 'package.json']);
  }, 300_000);
});
