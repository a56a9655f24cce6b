import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsbAdapter } from '../../adapters/usb/adapter.js';
import { parseMountInfo } from '../../adapters/usb/mountinfo.js';
import { bufferBody, streamBody } from '../../src/storage/body.js';
import { isStorageError } from '../../src/storage/errors.js';
import { testAdapterConformance } from '../conformance/suite.js';

/** Mounts a real tmpfs (the tests run as root; test/run.sh says so when they are not). */
function mountTmpfs(dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'none', dir]);
}

testAdapterConformance('usb (mounted tmpfs)', async () => {
  const mnt = await mkdtemp(join(tmpdir(), 'ferry-usb-'));
  mountTmpfs(mnt, '64m');
  return {
    adapter: new UsbAdapter('usb', { root: join(mnt, 'backups'), mountpoint: mnt }),
    rootOnDisk: join(mnt, 'backups'),
    cleanup: async () => { execFileSync('umount', [mnt]); await rm(mnt, { recursive: true, force: true }); },
  };
});

describe('usb target safety', () => {
  let base: string;
  let small: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'ferry-usb-safety-'));
    small = join(base, 'small');
    await mkdir(small);
    mountTmpfs(small, '1m');
  });
  afterAll(async () => {
    execFileSync('umount', [small]);
    await rm(base, { recursive: true, force: true });
  });

  it('refuses to write into an unmounted mount point with NOT_MOUNTED, leaving the directory empty', async () => {
    const mnt = join(base, 'unplugged');
    await mkdir(mnt);
    const usb = new UsbAdapter('usb', { root: join(mnt, 'backups'), mountpoint: mnt });
    await expect(usb.put('a.tar.gz', bufferBody('x'))).rejects.toSatisfy((e) => isStorageError(e, 'NOT_MOUNTED'));
    await expect(usb.list('')).rejects.toSatisfy((e) => isStorageError(e, 'NOT_MOUNTED'));
    await expect(usb.put('a.tar.gz', bufferBody('x'))).rejects.toThrow(/nothing is mounted at .*unplugged/);
    expect(await readdir(mnt)).toEqual([]);
  });

  it('refuses a drive whose label does not match expect_label', async () => {
    const usb = new UsbAdapter('usb', { root: join(small, 'b'), mountpoint: small, expectLabel: 'FERRY-NO-SUCH-LABEL' });
    await expect(usb.put('a', bufferBody('x'))).rejects.toSatisfy((e) => isStorageError(e, 'WRONG_DEVICE'));
  });

  it('a real ENOSPC mid-write is NO_SPACE and leaves no partial file', async () => {
    const usb = new UsbAdapter('usb', { root: join(small, 'c'), mountpoint: small });
    const chunks = Array.from({ length: 40 }, () => Buffer.alloc(64 * 1024, 7));
    await expect(usb.put('full.tar.gz', streamBody(Readable.from(chunks)))).rejects.toSatisfy((e) => isStorageError(e, 'NO_SPACE'));
    expect(await readdir(join(small, 'c'))).toEqual([]);
  });

  it('parses mountinfo lines, including escaped spaces', () => {
    const text = '36 35 98:0 / /media/my\\040usb rw,noatime master:1 - ext4 /dev/sdb1 rw\n42 27 0:39 / /tmp/mt rw,relatime - tmpfs none rw,size=1024k\n';
    expect(parseMountInfo(text)).toEqual([
      { device: '98:0', mountPoint: '/media/my usb', fsType: 'ext4', source: '/dev/sdb1' },
      { device: '0:39', mountPoint: '/tmp/mt', fsType: 'tmpfs', source: 'none' },
    ]);
  });

  it('writes archives with mode 0600', async () => {
    const usb = new UsbAdapter('usb', { root: join(small, 'm'), mountpoint: small });
    await usb.put('x.tar.gz', bufferBody('data'));
    expect(execFileSync('stat', ['-c', '%a', join(small, 'm', 'x.tar.gz')], { encoding: 'utf8' }).trim()).toBe('600');
    await writeFile(join(small, 'm', 'unused'), '');
  });
});
