import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMetrics, runMetrics } from '../../src/service/metrics.js';
import { readHistory } from '../../src/state/files.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const OLD = ['app-20200101T000000Z.tar.gz', 'app-20200102T000000Z.tar.gz'];

/** Complete-looking archives of the job, as a previous run would have left them. */
async function oldArchives(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of OLD) {
    await writeFile(join(dir, name), 'x');
    await writeFile(join(dir, `${name}.manifest.json`), JSON.stringify({ format: 'ferry/1', job: 'app', archive: name, created: '2020-01-01T00:00:00Z', size: 1, sha256: 'x' }));
  }
}

const exists = (path: string) => lstat(path).then(() => true, () => false);

describe('an optional usb drive', () => {
  let ws: Workspace;
  let mnt: string;
  let mounted = false;
  const optionalUsb = () => ({ type: 'usb', path: './usbmnt/backups', mountpoint: './usbmnt', keep: 1, optional: true });

  beforeAll(async () => {
    ws = await workspace();
    mnt = join(ws.dir, 'usbmnt');
    await mkdir(mnt);
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', [mnt]);
    await ws.cleanup();
  });

  it('that is not mounted is skipped: exit 0, "skipped" in the result, status, metrics, notifications, check and prune, and nothing on it is pruned', async () => {
    await oldArchives(join(mnt, 'backups'));
    await ws.writeConfig(basicConfig({
      targets: { local: { type: 'local', path: './backups', keep: 7 }, usb: optionalUsb() },
      notify: [{ type: 'command', command: 'cat > notified.json', on: ['success', 'partial', 'failure'] }],
    }));
    const r = await ws.run(['run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.status).toBe('success');
    expect(result.attention).toBeUndefined();
    expect(result.targets).toEqual([
      expect.objectContaining({ target: 'local', status: 'success' }),
      expect.objectContaining({ target: 'usb', status: 'skipped', reason: expect.stringMatching(/not mounted/) }),
    ]);
    expect(r.stderr).toMatch(/usb: skipped \(optional target\)/);
    expect((await readdir(join(mnt, 'backups'))).sort()).toEqual([...OLD, ...OLD.map((n) => `${n}.manifest.json`)].sort());

    const status = await ws.run(['status', '--json']);
    const usb = JSON.parse(status.stdout).targets.find((t: { target: string }) => t.target === 'usb');
    expect(usb.last).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/not mounted/) });
    expect((await ws.run(['status'])).stdout).toMatch(/usb .*skipped: drive not mounted/);

    const metrics = renderMetrics(runMetrics('app', await readHistory(join(ws.dir, 'state')), ['local', 'usb'], {}, false));
    expect(metrics).toContain('ferry_target_skipped{job="app",target="usb"} 1');
    expect(metrics).toContain('ferry_target_skipped{job="app",target="local"} 0');
    expect(metrics).not.toContain('ferry_target_last_status{job="app",target="usb"}');
    expect(metrics).toContain('ferry_last_run_success{job="app"} 1');

    const prune = await ws.run(['prune', '--json']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(JSON.parse(prune.stdout).targets).toContainEqual({ target: 'usb', skipped: expect.stringMatching(/not mounted/) });
    expect((await readdir(join(mnt, 'backups'))).sort()).toEqual([...OLD, ...OLD.map((n) => `${n}.manifest.json`)].sort());

    const check = await ws.run(['check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/usb \(usb\): ok\n  warning: drive not mounted at .*; runs skip this optional target/);

    const notified = JSON.parse(await readFile(join(ws.dir, 'notified.json'), 'utf8'));
    expect(notified).toMatchObject({ status: 'success', exit_code: 0 });
    expect(notified.targets).toContainEqual(expect.objectContaining({ target: 'usb', status: 'skipped', reason: expect.stringMatching(/not mounted/) }));
  });

  it('that comes back gets the newest archive on the next run', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'none', mnt]);
    mounted = true;
    const r = await ws.run(['run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.targets).toContainEqual(expect.objectContaining({ target: 'usb', status: 'success' }));
    expect(await readlink(join(mnt, 'backups', 'app-latest.tar.gz'))).toBe(result.archive);
    const list = JSON.parse((await ws.run(['list', '--target', 'usb', '--json'])).stdout);
    expect(JSON.stringify(list)).toContain(result.archive);
  });

  it('holding another drive than expect_label names is not skipped: the target fails', async () => {
    await ws.writeConfig(basicConfig({
      targets: { local: { type: 'local', path: './backups', keep: 7 }, usb: { ...optionalUsb(), expect_label: 'FERRY-NO-SUCH-LABEL' } },
    }));
    const r = await ws.run(['run', '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).targets).toContainEqual(expect.objectContaining({ target: 'usb', status: 'failure', errorCode: 'WRONG_DEVICE' }));
  });
});

describe('a run whose only target is an optional drive that is not mounted', () => {
  let ws: Workspace;
  beforeAll(async () => { ws = await workspace(); });
  afterAll(async () => { await ws.cleanup(); });

  it('stored the archive nowhere, so it fails with exit 1', async () => {
    await mkdir(join(ws.dir, 'usbmnt'));
    await ws.writeConfig(basicConfig({ targets: { usb: { type: 'usb', path: './usbmnt/b', mountpoint: './usbmnt', keep: 3, optional: true } } }));
    const r = await ws.run(['run', '--json']);
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout);
    expect(result.status).toBe('failure');
    expect(result.error).toMatch(/no target to store the archive on: usb \(drive not mounted/);
  });
});

describe('switching encryption on or off', () => {
  let ws: Workspace;
  beforeAll(async () => { ws = await workspace(); });
  afterAll(async () => { await ws.cleanup(); });

  it('never leaves a <job>-latest link pointing at an archive of the other kind', async () => {
    const env = { FERRY_PASSPHRASE: 'correct horse battery staple' };
    const plainLatest = join(ws.dir, 'backups', 'app-latest.tar.gz');
    const ageLatest = join(ws.dir, 'backups', 'app-latest.tar.gz.age');

    await ws.writeConfig(basicConfig());
    expect((await ws.run(['run'])).code).toBe(0);
    expect(await readlink(plainLatest)).toMatch(/^app-\d{8}T\d{6}Z\.tar\.gz$/);

    await ws.writeConfig(basicConfig({ encryption: { passphrase: '${FERRY_PASSPHRASE}' } }));
    const encrypted = await ws.run(['run', '--json'], env);
    expect(encrypted.code, encrypted.stderr).toBe(0);
    expect(await readlink(ageLatest)).toBe(JSON.parse(encrypted.stdout).archive);
    expect(await exists(plainLatest)).toBe(false);

    await ws.writeConfig(basicConfig());
    const plain = await ws.run(['run', '--json']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(await readlink(plainLatest)).toBe(JSON.parse(plain.stdout).archive);
    expect(await exists(ageLatest)).toBe(false);
  });
});
