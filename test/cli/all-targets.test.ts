import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, FERRY, SAMPLE_APP, workspace, type Workspace } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { startDriveEmulator, type DriveEmulator } from '../servers/drive-emulator/index.js';
import { createRgwBucket, startCephRgw, type RgwHandle } from '../servers/ceph-rgw.js';
import { createBucket, S3RVER_CREDENTIALS, startS3rver, type S3rverHandle } from '../servers/s3rver.js';
import { startSshd, type SshdHandle } from '../servers/sshd.js';

const KEEP = { local: 2, usb: 3, s3: 2, rgw: 2, sftp: 3, rsync: 2, gdrive: 2 } as const;
const TARGETS = Object.keys(KEEP) as (keyof typeof KEEP)[];
const CLIENT = { clientId: 'ferry-e2e.apps.example', clientSecret: 'e2e-client-secret', refreshToken: 'e2e-refresh-token' };

/** One job with seven targets, each on a real server on loopback (s3: s3rver and Ceph RGW; Drive: the local Drive v3 emulator). */
describe('one ferry job pushing to local, usb, s3 (s3rver and Ceph RGW), sftp, rsync and gdrive', () => {
  let ws: Workspace;
  let sshd: SshdHandle;
  let s3: S3rverHandle;
  let rgw: RgwHandle;
  let drive: DriveEmulator;
  let usbMount: string;

  const listJson = async () => {
    const r = await ws.run(['list', '--json']);
    return Object.fromEntries((JSON.parse(r.stdout).targets as { target: string; archives: { name: string }[]; error?: string }[])
      .map((t) => [t.target, t.error ?? t.archives.map((a) => a.name)]));
  };

  beforeAll(async () => {
    ws = await workspace();
    [sshd, s3, drive, rgw] = await Promise.all([startSshd(), startS3rver(), startDriveEmulator(), startCephRgw()]);
    await createBucket(s3.endpoint, 'ferry-e2e');
    const rgwBucket = await createRgwBucket(rgw);
    await writeFile(join(ws.dir, 'rgw-secret'), rgw.credentials.secretAccessKey);
    drive.addOAuthClient(CLIENT);
    usbMount = await mkdtemp(join(tmpdir(), 'ferry-e2e-usb-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'none', usbMount]);
    await writeFile(join(ws.dir, 'drive.json'), JSON.stringify({ type: 'authorized_user', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, refresh_token: CLIENT.refreshToken }));
    await writeFile(join(ws.dir, 's3-secret'), S3RVER_CREDENTIALS.secretAccessKey);
    const ssh = { host: sshd.host, port: sshd.port, user: sshd.user, private_key_file: sshd.privateKeyFile, known_hosts: sshd.knownHostsFile };
    await ws.writeConfig({
      job: 'app',
      state_dir: './state',
      sources: [{ path: './app', as: 'app' }],
      targets: {
        local: { type: 'local', path: './backups', keep: KEEP.local },
        usb: { type: 'usb', mountpoint: usbMount, path: join(usbMount, 'ferry'), keep: KEEP.usb },
        s3: { type: 's3', bucket: 'ferry-e2e', prefix: 'app/', endpoint: s3.endpoint, access_key_id: S3RVER_CREDENTIALS.accessKeyId, secret_access_key_file: './s3-secret', keep: KEEP.s3 },
        rgw: { type: 's3', bucket: rgwBucket, prefix: 'app/', endpoint: rgw.endpoint, access_key_id: rgw.credentials.accessKeyId, secret_access_key_file: './rgw-secret', keep: KEEP.rgw },
        // resume_timeout: 1: when sshd stops for good, the uploads stop waiting for it after a second.
        sftp: { type: 'sftp', ...ssh, path: join(sshd.dataDir, 'sftp'), keep: KEEP.sftp, resume_timeout: 1 },
        rsync: { type: 'rsync', ...ssh, path: join(sshd.dataDir, 'rsync'), keep: KEEP.rsync, resume_timeout: 1 },
        gdrive: { type: 'gdrive', folder: 'ferry-e2e', credentials_file: './drive.json', api_root: drive.rootUrl, token_url: drive.tokenUrl, keep: KEEP.gdrive },
      },
    });
  }, 120_000);

  afterAll(async () => {
    await sshd?.dispose();
    await s3?.stop();
    await rgw?.stop();
    await drive?.stop();
    if (usbMount) {
      execFileSync('umount', [usbMount]);
      await rm(usbMount, { recursive: true, force: true });
    }
    await ws?.cleanup();
  }, 60_000);

  it('ferry check reports every target as reachable and writable', async () => {
    const r = await ws.run(['check', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const reports = JSON.parse(r.stdout).targets as { target: string; ok: boolean }[];
    expect(reports.map((t) => [t.target, t.ok])).toEqual(TARGETS.map((t) => [t, true]));
  });

  it('one run pushes to all seven targets, each lists it, and each restores byte-identical data', async () => {
    const r = await ws.run(['run', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.targets.map((t: { target: string; status: string }) => [t.target, t.status])).toEqual(TARGETS.map((t) => [t, 'success']));
    const listed = await listJson();
    for (const t of TARGETS) expect(listed[t]).toEqual([result.archive]);
    for (const t of TARGETS) {
      const out = join(ws.dir, `restored-${t}`);
      const restored = await ws.run(['restore', 'latest', '--from', t, '--to', out]);
      expect(restored.code, `${t}: ${restored.stderr}`).toBe(0);
      execFileSync('diff', ['-r', SAMPLE_APP, join(out, 'app')]);
    }
  }, 120_000);

  it('every target holds the index sidecar, so ls reads a directory from each of them', async () => {
    for (const t of TARGETS) {
      const r = await ws.run(['--json', 'ls', '--from', t, 'app/logs']);
      expect(r.code, `${t}: ${r.stderr}`).toBe(0);
      const listed = JSON.parse(r.stdout) as { read_from: string; entries: { path: string }[] };
      expect(listed.read_from, t).toBe('index');
      expect(listed.entries.map((e) => e.path), t).toEqual(['app/logs/app.log', 'app/logs/error.log']);
    }
  }, 300_000);

  it('prune keeps exactly each target\'s own keep after more runs', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await ws.run(['run', '-q']);
      expect(r.code, r.stderr).toBe(0);
    }
    const listed = await listJson();
    for (const t of TARGETS) expect(listed[t], t).toHaveLength(KEEP[t]);
  }, 120_000);

  it('when sshd stops mid-run, sftp and rsync fail clearly, the others succeed, exit 3, and nothing incomplete lists anywhere', async () => {
    const before = await listJson();
    await writeFile(join(ws.dir, 'app', 'big.bin'), randomBytes(24 * 1024 * 1024));
    const child = spawn(process.execPath, [FERRY, 'run', '--json'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const run = collect(child);
    await waitFor(async () => {
      if (run.exited) throw new Error(`the run ended before the sftp upload was seen:\n${run.stderr}`);
      return (await readdir(join(sshd.dataDir, 'sftp'))).some((n) => n.startsWith('.ferry-partial-'));
    }, { what: 'the sftp upload to start', interval: 10 });
    await sshd.stop();
    const { code, stdout, stderr } = await run.done;
    expect(code, stdout + stderr).toBe(3);
    const result = JSON.parse(stdout);
    const byTarget = Object.fromEntries(result.targets.map((t: { target: string }) => [t.target, t]));
    for (const t of ['sftp', 'rsync']) {
      expect(byTarget[t].status).toBe('failure');
      expect(byTarget[t].error).toMatch(new RegExp(`target "${t}" \\[(UNAVAILABLE|AUTH|UNKNOWN)\\]`));
    }
    for (const t of ['local', 'usb', 's3', 'rgw', 'gdrive']) expect(byTarget[t].status, t).toBe('success');
    const after = await listJson();
    for (const t of ['local', 'usb', 's3', 'rgw', 'gdrive'] as const) {
      expect(after[t]).toContain(result.archive);
      expect(after[t], t).toHaveLength(KEEP[t]);
    }
    expect(typeof after.sftp).toBe('string');
    expect(typeof after.rsync).toBe('string');
    expect(before.sftp).toHaveLength(KEEP.sftp);
  }, 120_000);
});
