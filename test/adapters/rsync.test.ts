import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import rsyncDefinition from '../../adapters/rsync/index.js';
import { RsyncAdapter } from '../../adapters/rsync/adapter.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { isStorageError, type StorageError } from '../../src/storage/errors.js';
import { parseHostKeyOption, type HostKeyPolicy } from '../../adapters/ssh/host-key.js';
import { withFileStaging } from '../../src/storage/wrappers/file-staging.js';
import { closedPort, readAll, testAdapterConformance } from '../conformance/suite.js';
import { otherEd25519Key, startSshd, type SshdHandle } from '../servers/sshd.js';
import { waitFor } from '../helpers/wait.js';
import { rsyncServer } from './rsync-fixture.js';

/** rsync's name for a file it is receiving: the destination's name plus a dot and six random characters. */
const RSYNC_IN_PROGRESS = /^\.ferry-partial-.*\.[A-Za-z0-9]{6}$/;

function adapterOptions(s: SshdHandle, root: string, hostKey: HostKeyPolicy = parseHostKeyOption('nas', s.hostPublicKey)) {
  return { host: s.host, port: s.port, user: s.user, root, privateKeyFile: s.privateKeyFile, hostKey, log: silentLogger };
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
  const fx = rsyncServer();
  const { track, localFile } = fx;
  const create = async (options: Record<string, unknown>, log: Logger = silentLogger) =>
    track((await rsyncDefinition.create('nas', { host: fx.server.host, port: fx.server.port, user: fx.server.user, path: join(fx.server.dataDir, 'cfg'), private_key: fx.server.privateKey, ...options } as never, { configDir: fx.server.dir, log })) as RsyncAdapter);

  it('stores files with mode 0600 and creates the directory', async () => {
    const a = track(adapterFor(fx.server, join(fx.server.dataDir, 'deep', 'er')));
    await a.put('job-20260101T000000Z.tar.gz', await localFile('archive'));
    const s = await stat(join(fx.server.dataDir, 'deep', 'er', 'job-20260101T000000Z.tar.gz'));
    expect(s.mode & 0o777).toBe(0o600);
    expect(await a.freeSpace()).toBeGreaterThan(0);
  });

  it('a path with spaces, quotes and $(...) is stored literally and runs nothing', async () => {
    const marker = join(fx.server.dir, 'injected');
    const weird = `we ird '"; $(touch ${marker}) \`touch ${marker}\` ; touch ${marker}`;
    const a = track(adapterFor(fx.server, join(fx.server.dataDir, weird)));
    await a.put('x.tar.gz', await localFile('payload'));
    expect((await a.list('')).map((o) => o.key)).toEqual(['x.tar.gz']);
    expect((await readAll(await a.get('x.tar.gz'))).toString()).toBe('payload');
    expect((await a.stat('x.tar.gz')).size).toBe(7);
    await a.remove('x.tar.gz');
    expect(await a.list('')).toEqual([]);
    expect(existsSync(join(fx.server.dataDir, weird))).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });

  it('an interrupted upload stays in the hidden partial directory and never lists', async () => {
    const root = join(fx.server.dataDir, 'partial');
    const a = track(new RsyncAdapter('nas', {
      host: fx.server.host, port: fx.server.port, user: fx.server.user, root, privateKeyFile: fx.server.privateKeyFile,
      hostKey: parseHostKeyOption('nas', fx.server.hostFingerprint), log: silentLogger, bwlimit: 1024,
    }));
    const body = await localFile(randomBytes(4 * 1024 * 1024));
    const ctrl = new AbortController();
    const put = a.put('job-20260102T000000Z.tar.gz', body, { signal: ctrl.signal });
    // Abort once rsync has written part of the file on the fx.server.
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
    for (const [i, options] of [{ host_key: fx.server.hostFingerprint }, { host_key: fx.server.hostPublicKey }, { known_hosts: fx.server.knownHostsFile }].entries()) {
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
      expect(err.message).toContain(fx.server.hostFingerprint);
    }
  });

  it('refuses an unknown host and shows the fingerprint; insecure_accept_any_host_key connects with a warning', async () => {
    const unknown = await create({ known_hosts: '/dev/null' });
    const err = (await unknown.put('x', await localFile('x')).catch((e: unknown) => e)) as StorageError;
    expect(isStorageError(err, 'HOST_KEY')).toBe(true);
    expect(err.message).toMatch(/is unknown/);
    expect(err.message).toContain(fx.server.hostFingerprint);

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
});
