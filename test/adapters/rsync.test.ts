import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import rsyncDefinition from '../../adapters/rsync/index.js';
import { RsyncAdapter } from '../../adapters/rsync/adapter.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { fileBody } from '../../src/storage/body.js';
import { isStorageError, type StorageError } from '../../src/storage/errors.js';
import { parseHostKeyOption, type HostKeyPolicy } from '../../adapters/ssh/host-key.js';
import { withFileStaging } from '../../src/storage/wrappers/file-staging.js';
import { closedPort, readAll, testAdapterConformance } from '../conformance/suite.js';
import { otherEd25519Key, startSshd, type SshdHandle } from '../servers/sshd.js';
import { basicConfig, workspace } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { waitFor } from '../helpers/wait.js';

/** rsync's name for a file it is receiving: the destination's name plus a dot and six random characters. */
const RSYNC_IN_PROGRESS = /^\.ferry-partial-.*\.[A-Za-z0-9]{6}$/;

function adapterOptions(s: SshdHandle, root: string, hostKey: HostKeyPolicy = parseHostKeyOption('nas', s.hostPublicKey)) {
  return { host: s.host, port: s.port, user: s.user, root, privateKeyFile: s.privateKeyFile, hostKey, log: silentLogger };
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;

/** A logger that keeps every line, prefixed with its level. */
function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (m: string) => { lines.push(`${level}: ${m}`); };
  return { log: { info: keep('info'), warn: keep('warn'), error: keep('error'), debug: keep('debug') }, lines };
}

function adapterFor(s: SshdHandle, root: string, hostKey?: HostKeyPolicy): RsyncAdapter {
  return new RsyncAdapter('nas', adapterOptions(s, root, hostKey));
}

testAdapterConformance('rsync (with file staging)', async () => {
  const server = await startSshd();
  const staging = join(server.dir, 'staging');
  const root = join(server.dataDir, 'conformance');
  return {
    adapter: withFileStaging(adapterFor(server, root), staging),
    unreachable: async () => withFileStaging(new RsyncAdapter('nas', { ...adapterOptions(server, root), port: await closedPort() }), staging),
    rootOnDisk: root,
    partialDirs: ['.ferry-partial'],
    cleanup: async () => {
      // Every staged file is removed once its put ends, whatever the outcome.
      expect(existsSync(staging) ? await readdir(staging) : []).toEqual([]);
      await server.dispose();
    },
  };
});

describe('rsync target against a real sshd', () => {
  let server: SshdHandle;
  let local: string;
  const adapters: RsyncAdapter[] = [];
  const track = <T extends RsyncAdapter>(a: T) => (adapters.push(a), a);
  const create = async (options: Record<string, unknown>, log: Logger = silentLogger) =>
    track((await rsyncDefinition.create('nas', { host: server.host, port: server.port, user: server.user, path: join(server.dataDir, 'cfg'), private_key: server.privateKey, ...options } as never, { configDir: server.dir, log })) as RsyncAdapter);
  const localFile = async (data: Buffer | string) => {
    const f = join(local, randomBytes(4).toString('hex'));
    await writeFile(f, data);
    return fileBody(f, Buffer.byteLength(data));
  };

  beforeAll(async () => {
    server = await startSshd();
    local = await mkdtemp(join(tmpdir(), 'ferry-rsync-local-'));
  });
  afterAll(async () => {
    await Promise.all(adapters.map((a) => a.close()));
    await server?.dispose();
    await rm(local, { recursive: true, force: true });
  });

  it('stores files with mode 0600 and creates the directory', async () => {
    const a = track(adapterFor(server, join(server.dataDir, 'deep', 'er')));
    await a.put('job-20260101T000000Z.tar.gz', await localFile('archive'));
    const s = await stat(join(server.dataDir, 'deep', 'er', 'job-20260101T000000Z.tar.gz'));
    expect(s.mode & 0o777).toBe(0o600);
    expect(await a.freeSpace()).toBeGreaterThan(0);
  });

  it('a path with spaces, quotes and $(...) is stored literally and runs nothing', async () => {
    const marker = join(server.dir, 'injected');
    const weird = `we ird '"; $(touch ${marker}) \`touch ${marker}\` ; touch ${marker}`;
    const a = track(adapterFor(server, join(server.dataDir, weird)));
    await a.put('x.tar.gz', await localFile('payload'));
    expect((await a.list('')).map((o) => o.key)).toEqual(['x.tar.gz']);
    expect((await readAll(await a.get('x.tar.gz'))).toString()).toBe('payload');
    expect((await a.stat('x.tar.gz')).size).toBe(7);
    await a.remove('x.tar.gz');
    expect(await a.list('')).toEqual([]);
    expect(existsSync(join(server.dataDir, weird))).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });

  it('an interrupted upload stays in the hidden partial directory and never lists', async () => {
    const root = join(server.dataDir, 'partial');
    const a = track(new RsyncAdapter('nas', {
      host: server.host, port: server.port, user: server.user, root, privateKeyFile: server.privateKeyFile,
      hostKey: parseHostKeyOption('nas', server.hostFingerprint), log: silentLogger, bwlimit: 1024,
    }));
    const body = await localFile(randomBytes(4 * 1024 * 1024));
    const ctrl = new AbortController();
    const put = a.put('job-20260102T000000Z.tar.gz', body, { signal: ctrl.signal });
    // Abort once rsync has written part of the file on the server.
    await waitFor(async () => (existsSync(root) ? await readdir(root, { recursive: true }) : []).some((n) => String(n).includes('job-')), { what: 'rsync to start writing on the server' });
    expect(await a.list('')).toEqual([]);
    ctrl.abort();
    const err = (await put.catch((e: unknown) => e)) as StorageError;
    expect(isStorageError(err, 'ABORTED')).toBe(true);
    // The server's rsync saves what it had into the partial directory once it notices; that must not list either.
    await waitFor(async () => !(await readdir(root)).some((n) => RSYNC_IN_PROGRESS.test(n)), { what: "the server's rsync to let go of its in-progress file" });
    expect(await a.list('')).toEqual([]);
    await expect(a.stat('job-20260102T000000Z.tar.gz')).rejects.toSatisfy((e) => isStorageError(e, 'NOT_FOUND'));
  });

  it('accepts host keys pinned by fingerprint, key line or known_hosts file', async () => {
    for (const [i, options] of [{ host_key: server.hostFingerprint }, { host_key: server.hostPublicKey }, { known_hosts: server.knownHostsFile }].entries()) {
      const a = await create(options);
      await a.put(`pin-${i}`, await localFile('ok'));
      expect((await a.stat(`pin-${i}`)).size).toBe(2);
    }
  });

  it('refuses a wrong host key, by key line or by fingerprint, and shows the server fingerprint', async () => {
    for (const host_key of [otherEd25519Key(), 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      const a = await create({ host_key });
      const err = (await a.list('').catch((e: unknown) => e)) as StorageError;
      expect(isStorageError(err, 'HOST_KEY')).toBe(true);
      expect(err.message).toContain(server.hostFingerprint);
    }
  });

  it('refuses an unknown host and shows the fingerprint; insecure_accept_any_host_key connects with a warning', async () => {
    const unknown = await create({ known_hosts: '/dev/null' });
    const err = (await unknown.put('x', await localFile('x')).catch((e: unknown) => e)) as StorageError;
    expect(isStorageError(err, 'HOST_KEY')).toBe(true);
    expect(err.message).toMatch(/is unknown/);
    expect(err.message).toContain(server.hostFingerprint);

    await expect(create({})).rejects.toThrow(/host key verification is required/);
    const warnings: string[] = [];
    const insecure = await create({ insecure_accept_any_host_key: true }, { ...silentLogger, warn: (m) => { warnings.push(m); } });
    await insecure.put('insecure', await localFile('ok'));
    expect((await insecure.list('insecure')).length).toBe(1);
    expect(warnings.join('\n')).toMatch(/insecure_accept_any_host_key/);
  });

  it('a server without rsync gets a clear "rsync is not installed" error', async () => {
    const bare = await startSshd({ withoutRsync: true });
    try {
      const a = track(adapterFor(bare, join(bare.dataDir, 'x')));
      const err = (await a.put('x', await localFile('x')).catch((e: unknown) => e)) as StorageError;
      expect(err.message).toMatch(/rsync is not installed on 127\.0\.0\.1/);
      expect(err.retryable).toBe(false);
    } finally {
      await bare.dispose();
    }
  });

  describe('through a connection that drops', () => {
    let proxy: FaultProxy;
    beforeAll(async () => { proxy = await startFaultProxy({ host: server.host, port: server.port }); });
    afterAll(async () => { await proxy?.close(); });
    const proxied = (root: string, log: Logger) => track(new RsyncAdapter('nas', { ...adapterOptions(server, root), port: proxy.port, log }));

    it('an upload whose connection drops resumes from what the server kept instead of starting over', async () => {
      const root = join(server.dataDir, 'resume');
      const { log, lines } = recordingLogger();
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
      const from = Number(/resuming it from byte (\d+) \(resume 1\)/.exec(lines.join('\n'))?.[1]);
      expect(from).toBeGreaterThan(0);
      expect(lines).toContain(`info: nas: ${root}/job-20260103T000000Z.tar.gz stored after resuming the upload 1 time`);
      // The data is random, so sending it again from byte 0 would take at least its size after the drop.
      expect(proxy.stats.bytesUp - before - dropAt).toBeLessThan(data.length);
      // Nothing else is left: no temp file, no partial directory.
      expect(await readdir(root, { recursive: true })).toEqual(['job-20260103T000000Z.tar.gz']);
    });

    it('ferry run pushes through a dropped connection: exit 0, the log counts the resumes, the stored archive is byte-identical', async () => {
      const ws = await workspace();
      try {
        await writeFile(join(ws.dir, 'app', 'big.bin'), randomBytes(8 * MiB));
        const path = join(server.dataDir, 'cli-resume');
        await ws.writeConfig(basicConfig({
          targets: { nas: { type: 'rsync', host: server.host, port: proxy.port, user: server.user, private_key_file: server.privateKeyFile, host_key: server.hostPublicKey, path, keep: 3 } },
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
      const root = join(server.dataDir, 'outage');
      const { log, lines } = recordingLogger();
      const a = proxied(root, log);
      const data = randomBytes(6 * MiB);
      const drops = proxy.stats.drops;
      proxy.dropAfter(3 * MiB);
      let settled = false;
      const put = a.put('job-20260104T000000Z.tar.gz', await localFile(data)).finally(() => { settled = true; });
      await waitFor(() => proxy.stats.drops > drops, { what: 'the connection to drop' });
      await proxy.refuse();
      const outage = Date.now();
      const failedReconnects = () => lines.filter((l) => l.startsWith('debug: ') && l.includes('looking for the partial upload')).length;
      // The outage itself is what this test is about: it lasts 60 s, during which the adapter keeps trying.
      await waitFor(() => Date.now() - outage >= 60_000 && failedReconnects() >= 3, { what: '60 s of outage with reconnect attempts', timeout: 120_000, interval: 500 });
      expect(settled).toBe(false);
      await proxy.heal();
      await put;
      expect(sha256(await readFile(join(root, 'job-20260104T000000Z.tar.gz')))).toBe(sha256(data));
      expect(lines).toContain(`info: nas: ${root}/job-20260104T000000Z.tar.gz stored after resuming the upload 1 time`);
    }, 180_000);

    it('aborting while an upload waits to resume rejects at once with ABORTED, during the outage', async () => {
      const root = join(server.dataDir, 'abort-outage');
      const { log, lines } = recordingLogger();
      const a = proxied(root, log);
      const drops = proxy.stats.drops;
      proxy.dropAfter(2 * MiB);
      const ctrl = new AbortController();
      const put = a.put('job-20260105T000000Z.tar.gz', await localFile(randomBytes(6 * MiB)), { signal: ctrl.signal });
      await waitFor(() => proxy.stats.drops > drops, { what: 'the connection to drop' });
      await proxy.refuse();
      try {
        await waitFor(() => lines.some((l) => l.includes('looking for the partial upload')), { what: 'a reconnect attempt to fail' });
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
      const a = track(new RsyncAdapter('nas', { ...adapterOptions(sftpOnly, `${account.remotePath}/x`), user: account.user }));
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
});
