import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sftpDefinition from '../../adapters/sftp/index.js';
import { SftpAdapter } from '../../adapters/sftp/adapter.js';
import { fingerprint, parseHostKeyOption, parsePublicKey } from '../../adapters/ssh/host-key.js';
import { silentLogger } from '../../src/log.js';
import type { StorageAdapter } from '../../src/storage/adapter.js';
import { bufferBody, streamBody } from '../../src/storage/body.js';
import { isStorageError } from '../../src/storage/errors.js';
import { readAll } from '../conformance/suite.js';
import { startRcloneSftp, type RcloneSftpHandle } from '../servers/rclone-sftp.js';
import { startSshd, type HostKeyType, type SshdHandle } from '../servers/sshd.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A body of `data` as a live stream of 64 KiB pieces, of unknown length, as a run hands it over. */
function liveBody(data: Buffer) {
  async function* pieces() {
    for (let off = 0; off < data.length; off += 64 * 1024) yield data.subarray(off, off + 64 * 1024);
  }
  return streamBody(Readable.from(pieces()));
}

describe('sftp against stock and hardened servers', () => {
  let stock: SshdHandle;
  let hardened: SshdHandle;
  let rclone: RcloneSftpHandle;
  const open: StorageAdapter[] = [];
  const track = <A extends StorageAdapter>(a: A) => (open.push(a), a);
  /** A target made from config options, as `ferry` makes it. */
  const target = async (server: SshdHandle, options: Record<string, unknown>) =>
    track(await sftpDefinition.create('offsite', { host: server.host, port: server.port, user: server.user, path: join(server.dataDir, 'cfg'), ...options } as never, { configDir: server.dir, log: silentLogger }));

  beforeAll(async () => {
    [stock, hardened, rclone] = await Promise.all([
      startSshd(),
      startSshd({ passwordOnly: true, sftpOnlyAccount: true, sftpRefuses: ['posix-rename@openssh.com'] }),
      startRcloneSftp(),
    ]);
  });
  afterAll(async () => {
    await Promise.all(open.map((a) => a.close?.()));
    await Promise.all([stock?.dispose(), hardened?.dispose(), rclone?.dispose()]);
  });

  it('pinning any one of the ed25519, ECDSA and RSA host keys works: as host_key, as a known_hosts with just that key, or by fingerprint', async () => {
    for (const type of ['ed25519', 'ecdsa', 'rsa'] as HostKeyType[]) {
      const line = stock.hostKeys[type];
      const knownHosts = join(stock.dir, `known_hosts_${type}`);
      await writeFile(knownHosts, `[127.0.0.1]:${stock.port} ${line}\n`);
      const pins = { key: { host_key: line }, knownHosts: { known_hosts: knownHosts }, fingerprint: { host_key: fingerprint(parsePublicKey(line)!) } };
      for (const [how, pin] of Object.entries(pins)) {
        const a = await target(stock, { private_key: stock.privateKey, ...pin });
        const k = `pin-${type}-${how}`;
        await expect(a.put(k, bufferBody(k)), `${type} pinned by ${how}`).resolves.toBe(k.length);
        await a.close?.();
      }
    }
  });

  it('password login works on a server that offers only keyboard-interactive', async () => {
    const { user, password } = hardened.password!;
    const a = await target(hardened, { user, password, host_key: hardened.hostPublicKey, path: '/tmp' });
    expect(await a.list('no-such-prefix-')).toEqual([]);
    expect(await readFile(hardened.logFile, 'utf8')).toContain(`Accepted keyboard-interactive/pam for ${user}`);
  });

  it('a chroot internal-sftp account stores, lists, reads and removes archives', async () => {
    const account = hardened.sftpOnly!;
    const a = await target(hardened, { user: account.user, private_key: hardened.privateKey, host_key: hardened.hostPublicKey, path: `${account.remotePath}/backups` });
    const data = randomBytes(3 * 1024 * 1024);
    expect(await a.put('job-20260101T000000Z.tar.gz', liveBody(data))).toBe(data.length);
    expect((await a.list('job-')).map((o) => o.key)).toEqual(['job-20260101T000000Z.tar.gz']);
    expect(sha(await readFile(join(account.dataDir, 'backups', 'job-20260101T000000Z.tar.gz')))).toBe(sha(data));
    expect(sha(await readAll(await a.get('job-20260101T000000Z.tar.gz')))).toBe(sha(data));
    await a.remove('job-20260101T000000Z.tar.gz');
    expect(await readdir(join(account.dataDir, 'backups'))).toEqual([]);
  });

  it('a server that refuses posix-rename@openssh.com still stores archives with a plain rename, and never replaces one', async () => {
    const a = await target(hardened, { private_key: hardened.privateKey, host_key: hardened.hostPublicKey });
    await a.put('job-20260102T000000Z.tar.gz', bufferBody('first'));
    const again = await a.put('job-20260102T000000Z.tar.gz', liveBody(randomBytes(1024 * 1024))).catch((e: unknown) => e);
    expect(again).toSatisfy((e) => isStorageError(e, 'EXISTS'));
    expect((await readAll(await a.get('job-20260102T000000Z.tar.gz'))).toString()).toBe('first');
    expect(await readdir(join(hardened.dataDir, 'cfg'))).toEqual(['job-20260102T000000Z.tar.gz']);
  });

  it('rclone serve sftp (no announced write limits, writes only in order) stores a multi-MiB archive byte for byte', async () => {
    const a = track(new SftpAdapter('rclone', {
      host: rclone.host, port: rclone.port, user: rclone.user, privateKey: rclone.privateKey, root: 'backups',
      hostKey: parseHostKeyOption('rclone', rclone.hostPublicKey), log: silentLogger,
    }));
    const data = randomBytes(6 * 1024 * 1024 + 321);
    expect(await a.put('job-20260103T000000Z.tar.gz', liveBody(data))).toBe(data.length);
    expect(sha(await readFile(join(rclone.dataDir, 'backups', 'job-20260103T000000Z.tar.gz')))).toBe(sha(data));
    expect((await a.list('job-')).map((o) => [o.key, o.size])).toEqual([['job-20260103T000000Z.tar.gz', data.length]]);
    // rclone logs every failed write of a file ("can't seek in file without --vfs-cache-mode >= writes").
    expect(await readFile(rclone.logFile, 'utf8')).not.toMatch(/ERROR : backups\//);
  });

  it('a full disk (a small tmpfs as the sftp directory) is reported as NO_SPACE and leaves no temporary file', async () => {
    const full = join(stock.dataDir, 'full');
    await mkdir(full);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'none', full]);
    try {
      const a = track(new SftpAdapter('offsite', {
        host: stock.host, port: stock.port, user: stock.user, privateKey: stock.privateKey, root: full,
        hostKey: parseHostKeyOption('offsite', stock.hostPublicKey), log: silentLogger,
      }));
      const err = await a.put('job-20260104T000000Z.tar.gz', liveBody(randomBytes(4 * 1024 * 1024))).catch((e: unknown) => e);
      expect(err).toSatisfy((e) => isStorageError(e, 'NO_SPACE'));
      expect(String(err)).toContain(full);
      expect(await readdir(full)).toEqual([]);
      await a.close();
    } finally {
      execFileSync('umount', [full]);
    }
  });
});
