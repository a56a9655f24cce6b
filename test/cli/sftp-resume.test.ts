import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, collect, FERRY, workspace, type CliResult, type Workspace } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { waitForPartialUpload } from '../helpers/partial-upload.js';
import { startSshd, type SshdHandle } from '../servers/sshd.js';

const BIG = 40 * 1024 * 1024;
const sha = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

describe('a ferry run to an sftp target rides out dropped connections and a restarted sshd', () => {
  let ws: Workspace;
  let sshd: SshdHandle;
  let proxy: FaultProxy;
  /** The run's sftp target: through the fault proxy, or straight to sshd. */
  const sftpTarget = (dir: string, port: number) => ({
    type: 'sftp', host: sshd.host, port, user: sshd.user, private_key_file: sshd.privateKeyFile, host_key: sshd.hostPublicKey,
    path: join(sshd.dataDir, dir), keep: 3,
  });
  /** The run stored the same bytes on the local target and on the sftp target, each with its manifest. */
  const expectSameArchiveOnBoth = async (r: CliResult, dir: string) => {
    const { archive } = JSON.parse(r.stdout) as { archive: string };
    expect(await readdir(join(sshd.dataDir, dir))).toEqual([archive, `${archive}.index.jsonl.gz`, `${archive}.manifest.json`].sort());
    expect(await sha(join(sshd.dataDir, dir, archive))).toBe(await sha(join(ws.dir, 'backups', archive)));
    const manifest = JSON.parse(await readFile(join(sshd.dataDir, dir, `${archive}.manifest.json`), 'utf8'));
    expect(manifest.sha256).toBe(await sha(join(ws.dir, 'backups', archive)));
    return archive;
  };

  beforeAll(async () => {
    [ws, sshd] = await Promise.all([workspace(), startSshd()]);
    proxy = await startFaultProxy({ host: sshd.host, port: sshd.port });
    await writeFile(join(ws.dir, 'app', 'big.bin'), randomBytes(BIG));
  });
  afterAll(async () => {
    await proxy?.close();
    await sshd?.dispose();
    await ws?.cleanup();
  });

  it('with the connection reset twice mid-upload, the archive lands complete and byte-identical, exit 0, and the log says it resumed twice', async () => {
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 3 }, offsite: sftpTarget('via-proxy', proxy.port) } }));
    proxy.dropAfter(10 * 1024 * 1024, { times: 2 });
    const drops = proxy.stats.drops;
    const r = await ws.run(['run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(proxy.stats.drops - drops).toBe(2);
    const archive = await expectSameArchiveOnBoth(r, 'via-proxy');
    expect(r.stderr).toContain(`target "offsite": ${archive} stored after resuming the upload 2 times`);
  }, 120_000);

  it('with sshd restarted a quarter into the upload, the archive lands complete and byte-identical, exit 0, and the log says it resumed', async () => {
    const dir = join(sshd.dataDir, 'direct');
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 3 }, offsite: sftpTarget('direct', sshd.port) } }));
    const run = collect(spawn(process.execPath, [FERRY, 'run', '--json'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitForPartialUpload(run, dir, BIG / 4, 'a quarter done');
    await sshd.restart();
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const archive = await expectSameArchiveOnBoth(r, 'direct');
    expect(r.stderr).toContain(`target "offsite": ${archive} stored after resuming the upload 1 time`);
  }, 120_000);
});
