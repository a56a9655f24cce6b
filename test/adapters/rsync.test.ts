import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
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
    track((await rsyncDefinition.create('nas', { host: server.host, port: server.port, user: server.user, path: join(server.dataDir, 'cfg'), private_key_file: server.privateKeyFile, ...options } as never, { configDir: server.dir, log })) as RsyncAdapter);
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
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const names = existsSync(root) ? await readdir(root, { recursive: true }) : [];
      if (names.some((n) => String(n).includes('job-'))) break;
    }
    expect(await a.list('')).toEqual([]);
    ctrl.abort();
    const err = (await put.catch((e: unknown) => e)) as StorageError;
    expect(isStorageError(err, 'ABORTED')).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
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
});
