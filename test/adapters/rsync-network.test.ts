import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RsyncAdapter } from '../../adapters/rsync/adapter.js';
import { parseHostKeyOption } from '../../adapters/ssh/host-key.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { isStorageError, type StorageError } from '../../src/storage/errors.js';
import { startSshd } from '../servers/sshd.js';
import { basicConfig, workspace } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { recordingLogger } from '../helpers/log.js';
import { waitFor } from '../helpers/wait.js';
import { rsyncServer } from './rsync-fixture.js';

// rsync over networks and servers that are not kind: a push that loses its
// connection resumes from what the server kept (rsync's --partial-dir), rides
// out an outage and stops when the run is aborted; an account without a shell
// says so.

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

const fx = rsyncServer();
const { track, localFile } = fx;
const adapterOptions = (root: string, log: Logger) =>
  ({ host: fx.server.host, port: fx.server.port, user: fx.server.user, root, privateKeyFile: fx.server.privateKeyFile, hostKey: parseHostKeyOption('nas', fx.server.hostPublicKey), log });

describe('rsync target through a connection that drops', () => {
  let proxy: FaultProxy;
  beforeAll(async () => { proxy = await startFaultProxy({ host: fx.server.host, port: fx.server.port }); });
  afterAll(async () => { await proxy?.close(); });
  const proxied = (root: string, log: Logger) => track(new RsyncAdapter('nas', { ...adapterOptions(root, log), port: proxy.port }));

  it('an upload whose connection drops resumes from what the server kept instead of starting over', async () => {
    const root = join(fx.server.dataDir, 'resume');
    const log = recordingLogger();
    const a = proxied(root, log);
    const data = randomBytes(8 * MiB);
    const body = await localFile(data);
    const dropAt = 6 * MiB;
    const drops = proxy.stats.drops;
    proxy.dropAfter(dropAt);
    const before = proxy.stats.bytesUp;
    await a.put('job-20260103T000000Z.tar.gz', body);
    expect(proxy.stats.drops).toBe(drops + 1);
    expect(sha256(await readFile(join(root, 'job-20260103T000000Z.tar.gz')))).toBe(sha256(data));
    const from = Number(/resuming it from byte (\d+) \(resume 1\)/.exec(log.lines.join('\n'))?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(log.at('info')).toContain(`nas: ${root}/job-20260103T000000Z.tar.gz stored after resuming the upload 1 time`);
    // The data is random, so sending it again from byte 0 would take at least its size after the drop.
    expect(proxy.stats.bytesUp - before - dropAt).toBeLessThan(data.length);
    // Nothing else is left: no temp file, no partial directory.
    expect(await readdir(root, { recursive: true })).toEqual(['job-20260103T000000Z.tar.gz']);
  });

  it('ferry run pushes through a dropped connection: exit 0, the log counts the resumes, the stored archive is byte-identical', async () => {
    const ws = await workspace();
    try {
      await writeFile(join(ws.dir, 'app', 'big.bin'), randomBytes(8 * MiB));
      const path = join(fx.server.dataDir, 'cli-resume');
      await ws.writeConfig(basicConfig({
        targets: { nas: { type: 'rsync', host: fx.server.host, port: proxy.port, user: fx.server.user, private_key_file: fx.server.privateKeyFile, host_key: fx.server.hostPublicKey, path, keep: 3 } },
      }));
      const drops = proxy.stats.drops;
      proxy.dropAfter(5 * MiB);
      const { code, stdout, stderr } = await ws.run(['run', '--json']);
      expect(code, stderr).toBe(0);
      expect(proxy.stats.drops).toBe(drops + 1);
      const { archive } = JSON.parse(stdout) as { archive: string };
      expect(stderr).toMatch(/nas: the upload of \S+ was interrupted; resuming it from byte [1-9]\d* \(resume 1\)/);
      expect(stderr).toContain(`nas: ${path}/${archive} stored after resuming the upload 1 time`);
      const manifest = JSON.parse(await readFile(join(path, `${archive}.manifest.json`), 'utf8')) as { sha256: string; size: number };
      const stored = await readFile(join(path, archive));
      expect(stored.length).toBe(manifest.size);
      expect(sha256(stored)).toBe(manifest.sha256);
    } finally {
      await ws.cleanup();
    }
  });

  it('an upload rides out a 60 s outage with backoff and completes once the server is back', async () => {
    const root = join(fx.server.dataDir, 'outage');
    const log = recordingLogger();
    const a = proxied(root, log);
    const data = randomBytes(6 * MiB);
    const drops = proxy.stats.drops;
    proxy.dropAfter(3 * MiB);
    let settled = false;
    const put = a.put('job-20260104T000000Z.tar.gz', await localFile(data)).finally(() => { settled = true; });
    await waitFor(() => proxy.stats.drops > drops, { what: 'the connection to drop' });
    await proxy.refuse();
    const outage = Date.now();
    const failedReconnects = () => log.at('debug').filter((l) => l.includes('looking for the partial upload')).length;
    // The outage itself is what this test is about: it lasts 60 s, during which the adapter keeps trying.
    await waitFor(() => Date.now() - outage >= 60_000 && failedReconnects() >= 3, { what: '60 s of outage with reconnect attempts', timeout: 120_000, interval: 500 });
    expect(settled).toBe(false);
    await proxy.heal();
    await put;
    expect(sha256(await readFile(join(root, 'job-20260104T000000Z.tar.gz')))).toBe(sha256(data));
    expect(log.at('info')).toContain(`nas: ${root}/job-20260104T000000Z.tar.gz stored after resuming the upload 1 time`);
  }, 180_000);

  it('aborting while an upload waits to resume rejects at once with ABORTED, during the outage', async () => {
    const root = join(fx.server.dataDir, 'abort-outage');
    const log = recordingLogger();
    const a = proxied(root, log);
    const drops = proxy.stats.drops;
    proxy.dropAfter(2 * MiB);
    const ctrl = new AbortController();
    const put = a.put('job-20260105T000000Z.tar.gz', await localFile(randomBytes(6 * MiB)), { signal: ctrl.signal });
    await waitFor(() => proxy.stats.drops > drops, { what: 'the connection to drop' });
    await proxy.refuse();
    try {
      await waitFor(() => log.lines.some((l) => l.includes('looking for the partial upload')), { what: 'a reconnect attempt to fail' });
      ctrl.abort();
      // Without the abort, the upload would keep trying for 2 minutes: it settles while the server is still unreachable.
      const err = (await put.catch((e: unknown) => e)) as StorageError;
      expect(isStorageError(err, 'ABORTED')).toBe(true);
    } finally {
      await proxy.heal();
    }
    expect(await a.list('')).toEqual([]);
  });
});

it('an sftp-only chroot account is reported as having no shell, quoting what the server printed', async () => {
  const sftpOnly = await startSshd({ sftpOnlyAccount: true });
  try {
    const account = sftpOnly.sftpOnly!;
    const a = track(new RsyncAdapter('nas', { ...adapterOptions(`${account.remotePath}/x`, silentLogger), host: sftpOnly.host, port: sftpOnly.port, user: account.user, privateKeyFile: sftpOnly.privateKeyFile, hostKey: parseHostKeyOption('nas', sftpOnly.hostPublicKey) }));
    const body = await localFile('x');
    for (const op of [() => a.put('x', body), () => a.list(''), () => a.probe()]) {
      const err = (await op().catch((e: unknown) => e)) as StorageError;
      expect(isStorageError(err, 'CONFIG')).toBe(true);
      expect(err.message).toContain(`the account ${account.user}@127.0.0.1 has no shell`);
      expect(err.message).toContain('This service allows sftp connections only.');
      expect(err.retryable).toBe(false);
    }
  } finally {
    await sftpOnly.dispose();
  }
});
