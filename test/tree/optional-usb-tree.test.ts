import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

describe('an optional usb tree target', () => {
  let ws: Workspace;
  let mnt: string;
  let mounted = false;
  const config = () => ws.writeConfig(basicConfig({
    targets: {
      local: { type: 'local', path: './backups', keep: 7 },
      usb: { type: 'usb', path: './usbmnt/snapshots', mountpoint: './usbmnt', keep: 3, optional: true, format: 'tree' },
    },
  }));

  beforeAll(async () => {
    ws = await workspace();
    mnt = join(ws.dir, 'usbmnt');
    await mkdir(mnt);
    await config();
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', [mnt]);
    await ws.cleanup();
  });

  it('whose drive is absent is skipped and the run succeeds; prune and check skip it too, and list says it is not mounted', async () => {
    const r = await ws.run(['run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.status).toBe('success');
    expect(result.targets).toEqual([
      expect.objectContaining({ target: 'local', status: 'success' }),
      expect.objectContaining({ target: 'usb', status: 'skipped', reason: expect.stringMatching(/not mounted/) }),
    ]);
    expect(r.stderr).toMatch(/usb: skipped \(optional target\)/);
    // Nothing was written to the directory on the root disk.
    expect(await readdir(mnt)).toEqual([]);

    const prune = await ws.run(['prune', '--json']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(JSON.parse(prune.stdout).targets).toContainEqual({ target: 'usb', skipped: expect.stringMatching(/not mounted/) });

    // An unplugged drive's empty mount directory does not read as "no snapshots".
    const list = JSON.parse((await ws.run(['list', '--json'])).stdout);
    expect(list.targets.find((t: { target: string }) => t.target === 'usb')).toMatchObject({ archives: [], error: expect.stringMatching(/usb.*nothing is mounted at/) });

    const check = await ws.run(['check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/usb \(usb\): ok\n  warning: drive not mounted at .*; runs skip this optional target/);
  });

  it('whose only target is an absent drive fails the run, naming the target', async () => {
    await ws.writeConfig(basicConfig({
      targets: { usb: { type: 'usb', path: './usbmnt/snapshots', mountpoint: './usbmnt', keep: 3, optional: true, format: 'tree' } },
    }));
    const r = await ws.run(['run', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error).toMatch(/no target to store the archive on: usb \(drive not mounted/);
    await config();
  });

  it('whose drive comes back gets a snapshot on the next run', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'none', mnt]);
    mounted = true;
    const r = await ws.run(['run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    const usb = result.targets.find((t: { target: string }) => t.target === 'usb');
    expect(usb).toMatchObject({ status: 'success', snapshot: expect.stringMatching(/^app-\d{8}T\d{6}Z$/) });
    expect(await readlink(join(mnt, 'snapshots', 'app-latest'))).toBe(usb.snapshot);
  });
});
