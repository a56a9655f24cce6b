import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runProcess } from '../../src/util/spawn.js';
import type { MountEntry } from './mountinfo.js';
import { readFsIdentity, type FsIdentity } from './superblock.js';

/** What was learned about a mounted drive, and how (for messages). */
export interface DriveIdentity extends Partial<FsIdentity> {
  /** The block device that was read, when one was found. */
  device?: string;
  /** `superblock`, `blkid` or `udev` (/dev/disk/by-*): where the label and UUID came from. */
  via?: string;
  /** Why nothing could be read, when nothing could. */
  problem?: string;
}

/**
 * The label and UUID of the filesystem mounted as `mount`, without relying
 * on udev: the block device (from /sys/dev/block/<major:minor>, else the
 * mount's source) has its superblock read directly; when that cannot be
 * read (no permission) or the filesystem is not one the reader knows,
 * `blkid` is asked, and last the /dev/disk/by-label and by-uuid links.
 */
export async function identifyMount(mount: MountEntry, expected: { label?: string; uuid?: string }): Promise<DriveIdentity> {
  const device = await blockDevice(mount);
  const problems: string[] = [];
  if (device) {
    try {
      const id = await readFsIdentity(device);
      if (id) return { ...id, device, via: 'superblock' };
    } catch (err) {
      problems.push(`cannot read ${device}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const r = await runProcess('blkid', ['-o', 'export', device], { captureStdout: true, timeoutMs: 10_000 });
    if (r.exitCode === 0) {
      const tags = Object.fromEntries(r.stdout.split('\n').map((l) => l.split('=')).filter((kv) => kv.length >= 2).map(([k, ...v]) => [k!, v.join('=')]));
      if (tags.TYPE || tags.LABEL || tags.UUID) return { type: tags.TYPE, label: tags.LABEL, uuid: tags.UUID, device, via: 'blkid' };
    }
    problems.push(r.spawnError ? 'blkid is not installed' : `blkid found nothing on ${device}`);
  } else {
    problems.push(`no block device found for ${mount.source} (${mount.device})`);
  }
  // udev's links say only whether the expected values point at this device.
  const viaUdev: DriveIdentity = { device, via: 'udev' };
  for (const [kind, value] of [['label', expected.label], ['uuid', expected.uuid]] as const) {
    if (value !== undefined && (await deviceNumber(join('/dev/disk', `by-${kind}`, value))) === mount.device) viaUdev[kind] = value;
  }
  if (viaUdev.label !== undefined || viaUdev.uuid !== undefined) return viaUdev;
  return { device, problem: problems.join('; ') };
}

/** Whether an identity has the expected label and UUID (UUIDs compare without regard to case). */
export function matchesExpected(id: DriveIdentity, expected: { label?: string; uuid?: string }): boolean {
  if (expected.label !== undefined && id.label !== expected.label) return false;
  if (expected.uuid !== undefined && id.uuid?.toLowerCase() !== expected.uuid.toLowerCase()) return false;
  return true;
}

/** `ext4 label BACKUP, UUID 0b6a…` for messages. */
export function describeIdentity(id: DriveIdentity): string {
  if (id.problem) return `label and UUID unknown (${id.problem})`;
  const parts = [id.type, id.label !== undefined ? `label ${id.label}` : 'no label', id.uuid !== undefined ? `UUID ${id.uuid}` : 'no UUID'];
  return parts.filter(Boolean).join(', ');
}

/** The device node of a mount: /dev/<DEVNAME> from sysfs for its major:minor, else its source when that is a block device. */
async function blockDevice(mount: MountEntry): Promise<string | undefined> {
  const uevent = await readFile(`/sys/dev/block/${mount.device}/uevent`, 'utf8').catch(() => '');
  const name = /^DEVNAME=(.+)$/m.exec(uevent)?.[1];
  if (name) return join('/dev', name);
  const s = await stat(mount.source).catch(() => undefined);
  return s?.isBlockDevice() ? mount.source : undefined;
}

/** `major:minor` of the block device a /dev/disk/by-* link points to, or undefined. */
async function deviceNumber(link: string): Promise<string | undefined> {
  try {
    const rdev = (await stat(link)).rdev;
    // Linux encodes dev_t with major in bits 8-19 and 32+, minor in bits 0-7 and 20-31.
    const major = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
    const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
    return `${major}:${minor}`;
  } catch {
    return undefined;
  }
}
