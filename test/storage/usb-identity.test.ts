import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFsIdentity } from '../../adapters/usb/superblock.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const UUID = '0b6a9c2e-1111-4222-8333-444455556666';

/** A sparse image file of `size` with a filesystem made by the real mkfs tool. */
function image(dir: string, name: string, size: string, mkfs: string[]): string {
  const file = join(dir, name);
  execFileSync('truncate', ['-s', size, file]);
  execFileSync(mkfs[0]!, [...mkfs.slice(1), file], { stdio: 'ignore' });
  return file;
}

/** What blkid (probing the superblock itself, no cache) says about the image. */
function blkid(file: string): Record<string, string> {
  const out = execFileSync('blkid', ['-p', '-o', 'export', file], { encoding: 'utf8' });
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('the usb target reads label and UUID from the superblock, without udev', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ferry-fsid-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  const cases: [string, string, string[], { type: string; label: string; uuid?: string }][] = [
    ['ext4', '8M', ['mkfs.ext4', '-q', '-L', 'BACKUP', '-U', UUID], { type: 'ext4', label: 'BACKUP', uuid: UUID }],
    ['ext2', '8M', ['mkfs.ext2', '-q', '-L', 'OLDDISK'], { type: 'ext2', label: 'OLDDISK' }],
    ['FAT16', '40M', ['mkfs.vfat', '-n', 'STICK', '-i', '1234ABCD'], { type: 'vfat', label: 'STICK', uuid: '1234-ABCD' }],
    ['FAT32', '300M', ['mkfs.vfat', '-F', '32', '-n', 'BIGSTICK', '-i', 'DEADBEEF'], { type: 'vfat', label: 'BIGSTICK', uuid: 'DEAD-BEEF' }],
    ['exFAT', '8M', ['mkfs.exfat', '-L', 'CARD'], { type: 'exfat', label: 'CARD' }],
    ['XFS', '320M', ['mkfs.xfs', '-q', '-L', 'XDISK'], { type: 'xfs', label: 'XDISK' }],
    ['btrfs', '120M', ['mkfs.btrfs', '-q', '-L', 'BDISK'], { type: 'btrfs', label: 'BDISK' }],
  ];
  for (const [what, size, mkfs, expected] of cases) {
    it(`${what}: the label and UUID blkid reports`, async () => {
      const file = image(dir, `${what}.img`, size, mkfs);
      const id = await readFsIdentity(file);
      expect(id).toMatchObject(expected);
      const probe = blkid(file);
      expect(id).toEqual({ type: probe.TYPE, label: probe.LABEL, uuid: probe.UUID });
      await rm(file);
    });
  }

  it('a file that holds no known filesystem gives no identity', async () => {
    const file = join(dir, 'blank.img');
    execFileSync('truncate', ['-s', '1M', file]);
    expect(await readFsIdentity(file)).toBeUndefined();
  });
});

describe('ferry check on a real drive (an ext4 image on a loop device)', () => {
  let ws: Workspace;
  let mnt: string;
  beforeAll(async () => {
    ws = await workspace();
    const img = image(ws.dir, 'drive.img', '16M', ['mkfs.ext4', '-q', '-L', 'FERRYDISK', '-U', UUID]);
    mnt = join(ws.dir, 'media');
    await mkdir(mnt);
    execFileSync('mount', ['-o', 'loop', img, mnt]);
  });
  afterAll(async () => {
    if (mnt) execFileSync('umount', ['-d', mnt]);
    await ws?.cleanup();
  });

  const usb = (expect: Record<string, string>) => basicConfig({ targets: { usb: { type: 'usb', mountpoint: './media', path: './media/app', keep: 3, ...expect } } });

  it('finds the expected label and UUID and says what it read', async () => {
    await ws.writeConfig(usb({ expect_label: 'FERRYDISK', expect_uuid: UUID.toUpperCase() }));
    const r = await ws.run(['check']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`usb \\(usb\\): ok — mounted /dev/loop\\d+ \\(ext4\\) at .*media; ext4, label FERRYDISK, UUID ${UUID}`));
  });

  it('a different drive fails check, naming the label and UUID it found', async () => {
    await ws.writeConfig(usb({ expect_label: 'OFFSITE' }));
    const r = await ws.run(['check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`usb \\(usb\\): FAILED \\[WRONG_DEVICE\\]: .*expected label OFFSITE, found ext4, label FERRYDISK, UUID ${UUID}`));
    await ws.writeConfig(usb({ expect_uuid: '1234-ABCD' }));
    const byUuid = await ws.run(['run']);
    expect(byUuid.code).toBe(1);
    expect(byUuid.stderr).toMatch(/expected UUID 1234-ABCD, found ext4, label FERRYDISK/);
  });
});
