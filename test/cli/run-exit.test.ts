import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, collect, FERRY, workspace, type CliResult, type Workspace } from '../helpers/cli.js';
import { startSshd, type SshdHandle } from '../servers/sshd.js';
import { waitForPartialUpload } from '../helpers/partial-upload.js';
import { waitFor } from '../helpers/wait.js';

/** Starts `ferry run --json`, stops sshd once a third of the archive is on the server, and waits for the run to end. */
async function runAndKillSshdMidUpload(ws: Workspace, sshd: SshdHandle, remoteDir: string, archiveBytes: number): Promise<CliResult> {
  const child = spawn(process.execPath, [FERRY, 'run', '--json'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = collect(child);
  await waitForPartialUpload(run, remoteDir, archiveBytes / 3, 'a third done');
  await sshd.stop();
  return run.done;
}

describe('a run exits 0 only after it has recorded a successful result', () => {
  let ws: Workspace;
  let sshd: SshdHandle;
  const BIG = 64 * 1024 * 1024;
  beforeEach(async () => {
    ws = await workspace();
    sshd = await startSshd();
    await writeFile(join(ws.dir, 'app', 'big.bin'), randomBytes(BIG));
  });
  afterEach(async () => {
    await sshd.dispose();
    await ws.cleanup();
  });
  // resume_timeout: 1: the server never comes back, so the upload stops trying after a second instead of two minutes.
  const sftpTarget = () => ({ type: 'sftp', host: sshd.host, port: sshd.port, user: sshd.user, private_key_file: sshd.privateKeyFile, known_hosts: sshd.knownHostsFile, path: join(sshd.dataDir, 'sftp'), keep: 3, resume_timeout: 1 });

  it('when the sftp server dies a third into the upload, the run exits 1, names the target, and status shows the failure', async () => {
    await ws.writeConfig(basicConfig({ targets: { offsite: sftpTarget() } }));
    const r = await runAndKillSshdMidUpload(ws, sshd, join(sshd.dataDir, 'sftp'), BIG);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const result = JSON.parse(r.stdout);
    expect(result.status).toBe('failure');
    expect(result.targets[0]).toMatchObject({ target: 'offsite', status: 'failure', error_code: 'UNAVAILABLE' });
    const last = JSON.parse(await readFile(join(ws.dir, 'state', 'last_run.json'), 'utf8'));
    expect(last).toMatchObject({ id: result.id, status: 'failure' });
    const status = await ws.run(['status']);
    expect(status.stdout).toMatch(/last run: failure/);
    expect(status.stdout).toMatch(/offsite .*failure: target "offsite" \[UNAVAILABLE\]/);
  }, 120_000);

  it('when the sftp server dies mid-upload, a local target still gets the archive and the run exits 3 naming the failed target', async () => {
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 3 }, offsite: sftpTarget() } }));
    const r = await runAndKillSshdMidUpload(ws, sshd, join(sshd.dataDir, 'sftp'), BIG);
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ status: 'partial', attention: { failed_targets: ['offsite'], failed_prunes: [], unreadable: [] } });
    expect(await readdir(join(ws.dir, 'backups'))).toEqual(expect.arrayContaining([result.archive, `${result.archive}.manifest.json`]));
    const last = JSON.parse(await readFile(join(ws.dir, 'state', 'last_run.json'), 'utf8'));
    expect(last.attention.failed_targets).toEqual(['offsite']);
  }, 120_000);
});

describe('restore and pull exit 0 only after the work is done and checked', () => {
  let ws: Workspace;
  let sshd: SshdHandle;
  const BIG = 48 * 1024 * 1024;
  beforeEach(async () => {
    ws = await workspace();
    sshd = await startSshd();
    await writeFile(join(ws.dir, 'app', 'big.bin'), randomBytes(BIG));
  });
  afterEach(async () => {
    await sshd.dispose();
    await ws.cleanup();
  });

  it('when the sftp server dies a third into a restore, restore exits 1 naming the target and the destination is never created', async () => {
    await ws.writeConfig(basicConfig({ targets: { offsite: { type: 'sftp', host: sshd.host, port: sshd.port, user: sshd.user, private_key_file: sshd.privateKeyFile, known_hosts: sshd.knownHostsFile, path: join(sshd.dataDir, 'sftp'), keep: 3 } } }));
    expect((await ws.run(['run'])).code).toBe(0);
    const child = spawn(process.execPath, [FERRY, 'restore', '--to', 'out'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const restore = collect(child);
    await waitFor(async () => {
      if (restore.exited) throw new Error(`the restore ended before a third was read:\n${restore.stderr}`);
      const tmp = (await readdir(ws.dir)).find((n) => n.startsWith('.out.ferry-restore-'));
      return tmp !== undefined && (await stat(join(ws.dir, tmp, 'app', 'big.bin')).catch(() => ({ size: 0 }))).size > BIG / 3;
    }, { what: 'the restore to be a third done', interval: 10 });
    await sshd.stop();
    const { code, stderr } = await restore.done;
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(/ferry: .*(offsite|connection lost|pending)/);
    expect((await readdir(ws.dir)).filter((n) => n === 'out' || n.includes('ferry-restore'))).toEqual([]);
  }, 120_000);
});

describe('exit codes of a run that stored its archive: 0 only when all is done and recorded, 3 when something needs attention', () => {
  let ws: Workspace;
  const mounts: string[] = [];
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => {
    for (const m of mounts.splice(0)) execFileSync('umount', [m]);
    await ws.cleanup();
  });

  it('a run whose prune failed exits 3, and last_run.json, history.jsonl and --json name the target', async () => {
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 5 } } }));
    expect((await ws.run(['run'])).code).toBe(0);
    const [first] = (await readdir(join(ws.dir, 'backups'))).filter((n) => n.endsWith('.tar.gz'));
    // A file that is a mount point cannot be unlinked (EBUSY): the prune of the old archive fails for real.
    const pinned = join(ws.dir, 'backups', first!);
    execFileSync('mount', ['--bind', pinned, pinned]);
    mounts.push(pinned);
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 1 } } }));
    const r = await ws.run(['run', '--json']);
    expect(r.code, r.stderr).toBe(3);
    const result = JSON.parse(r.stdout);
    expect(result.status).toBe('partial');
    expect(result.attention.failed_targets).toEqual([]);
    expect(result.attention.failed_prunes).toEqual([{ target: 'local', error: expect.stringContaining(first!) }]);
    expect(r.stderr).toMatch(/local: prune failed/);
    const history = (await readFile(join(ws.dir, 'state', 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(history.at(-1).attention.failed_prunes[0].target).toBe('local');
    const human = await ws.run(['run']);
    expect(human.code).toBe(3);
    expect(human.stdout).toMatch(/local .*prune failed/);
    expect((await ws.run(['status'])).stdout).toMatch(/needs attention: prune failed on local \(.*EBUSY/);
  });

  it('a run that stored its archive but could not record the result in last_run.json exits 1 saying so', async () => {
    await ws.writeConfig(basicConfig());
    await mkdir(join(ws.dir, 'state', 'last_run.json', 'in-the-way'), { recursive: true });
    const r = await ws.run(['run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not record the run in .*state/);
  });

  it('a run where every target stored and pruned exits 0 with no attention', async () => {
    await ws.writeConfig(basicConfig());
    const r = await ws.run(['run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).attention).toBeUndefined();
  });
});
