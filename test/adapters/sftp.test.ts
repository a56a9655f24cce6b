import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sftpDefinition from '../../adapters/sftp/index.js';
import { SftpAdapter } from '../../adapters/sftp/adapter.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { bufferBody, streamBody } from '../../src/storage/body.js';
import { isStorageError, type StorageError } from '../../src/storage/errors.js';
import { parseHostKeyOption, type HostKeyPolicy } from '../../adapters/ssh/host-key.js';
import { closedPort, testAdapterConformance } from '../conformance/suite.js';
import { otherEd25519Key, startSshd, type SshdHandle } from '../servers/sshd.js';

function adapterOptions(s: SshdHandle, root: string, hostKey: HostKeyPolicy = parseHostKeyOption('sftp', s.hostPublicKey)) {
  return { host: s.host, port: s.port, user: s.user, root, privateKey: s.privateKey, hostKey, log: silentLogger };
}
function adapterFor(s: SshdHandle, root: string, hostKey?: HostKeyPolicy): SftpAdapter {
  return new SftpAdapter('sftp', adapterOptions(s, root, hostKey));
}

testAdapterConformance('sftp', async () => {
  const server = await startSshd();
  const root = join(server.dataDir, 'conformance', 'nested');
  const unreachable = async () => new SftpAdapter('sftp', { ...adapterOptions(server, root), port: await closedPort() });
  return { adapter: adapterFor(server, root), cleanup: () => server.dispose(), unreachable, secret: server.privateKey.toString().split('\n')[1], rootOnDisk: root };
});

describe('sftp target against a real sshd', () => {
  let server: SshdHandle;
  const open: SftpAdapter[] = [];
  const track = (a: SftpAdapter) => (open.push(a), a);
  const create = (options: Record<string, unknown>, log: Logger = silentLogger) =>
    sftpDefinition.create('offsite', { host: server.host, port: server.port, user: server.user, path: join(server.dataDir, 'cfg'), private_key: server.privateKey, ...options } as never, { configDir: server.dir, log });

  beforeAll(async () => { server = await startSshd(); });
  afterAll(async () => {
    await Promise.all(open.map((a) => a.close()));
    await server?.dispose();
  });

  it('stores archives with mode 0600 under a temporary name first', async () => {
    const a = track(adapterFor(server, join(server.dataDir, 'modes')));
    const data = randomBytes(3 * 1024 * 1024);
    async function* slow() {
      for (let off = 0; off < data.length; off += 256 * 1024) {
        yield data.subarray(off, off + 256 * 1024);
        if (off === 1024 * 1024) expect((await readdir(join(server.dataDir, 'modes'))).some((n) => n.startsWith('.ferry-partial-'))).toBe(true);
      }
    }
    await a.put('job-20260101T000000Z.tar.gz', streamBody(Readable.from(slow())));
    const s = await stat(join(server.dataDir, 'modes', 'job-20260101T000000Z.tar.gz'));
    expect(s.mode & 0o777).toBe(0o600);
    expect(await readdir(join(server.dataDir, 'modes'))).toEqual(['job-20260101T000000Z.tar.gz']);
    expect(await a.freeSpace()).toBeGreaterThan(0);
  });

  it('an aborted upload removes its temporary file from the server', async () => {
    const a = track(adapterFor(server, join(server.dataDir, 'aborted')));
    await a.put('keep', bufferBody('k'));
    const ctrl = new AbortController();
    async function* endless() {
      for (let i = 0; ; i++) {
        if (i === 8) ctrl.abort(new Error('stop'));
        yield randomBytes(128 * 1024);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const err = (await a.put('gone', streamBody(Readable.from(endless())), { signal: ctrl.signal }).catch((e: unknown) => e)) as StorageError;
    expect(isStorageError(err, 'ABORTED')).toBe(true);
    expect(await readdir(join(server.dataDir, 'aborted'))).toEqual(['keep']);
  });

  it('refuses a wrong host key and shows the server fingerprint to pin', async () => {
    const a = track((await create({ host_key: otherEd25519Key() })) as SftpAdapter);
    const err = (await a.list('').catch((e: unknown) => e)) as StorageError;
    expect(isStorageError(err, 'HOST_KEY')).toBe(true);
    expect(err.message).toContain(server.hostFingerprint);
    expect(err.message).toContain('does not match');
    expect(err.retryable).toBe(false);
  });

  it('refuses an unknown host (known_hosts without an entry for it) and shows the fingerprint', async () => {
    const a = track((await create({ known_hosts: '/dev/null' })) as SftpAdapter);
    const err = (await a.put('x', bufferBody('x')).catch((e: unknown) => e)) as StorageError;
    expect(isStorageError(err, 'HOST_KEY')).toBe(true);
    expect(err.message).toContain('is unknown');
    expect(err.message).toContain(server.hostFingerprint);
  });

  it('insists on a host key setting, and insecure_accept_any_host_key connects with a warning', async () => {
    await expect(create({})).rejects.toThrow(/host key verification is required/);
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (m: string) => { warnings.push(m); } };
    const a = track((await create({ insecure_accept_any_host_key: true }, log)) as SftpAdapter);
    await a.put('insecure', bufferBody('ok'));
    expect((await a.stat('insecure')).size).toBe(2);
    expect(warnings.join('\n')).toMatch(/insecure_accept_any_host_key/);
    expect(warnings.join('\n')).toContain(server.hostFingerprint);
  });

  it('a wrong login key is an AUTH error that does not show the key', async () => {
    const other = await startSshd();
    try {
      const a = track(new SftpAdapter('sftp', {
        host: server.host, port: server.port, user: 'root', root: 'x', privateKey: other.privateKey,
        hostKey: parseHostKeyOption('sftp', server.hostPublicKey), log: silentLogger,
      }));
      const err = (await a.list('').catch((e: unknown) => e)) as StorageError;
      expect(isStorageError(err, 'AUTH')).toBe(true);
      expect(err.message).not.toContain('PRIVATE KEY');
    } finally {
      await other.dispose();
    }
  });

  it('a server that stops under an open connection is a retryable UNAVAILABLE error', async () => {
    const s = await startSshd();
    const live = track(adapterFor(s, join(s.dataDir, 'gone')));
    await live.put('before', bufferBody('1'));
    await s.stop();
    const err = (await live.put('after', bufferBody(randomBytes(1024 * 1024))).catch((e: unknown) => e)) as StorageError;
    expect(isStorageError(err, 'UNAVAILABLE')).toBe(true);
    expect(err.retryable).toBe(true);
    await s.dispose();
  });
});
