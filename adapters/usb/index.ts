import { z } from 'zod';
import { defineAdapter } from '../../src/storage/definition.js';
import { canonicalPath, resolveUserPath } from '../../src/util/paths.js';
import { localOptions } from '../local/index.js';

export default defineAdapter({
  type: 'usb',
  options: {
    ...localOptions,
    /** The drive's mount point. Writes are refused unless a filesystem is mounted exactly there. */
    mountpoint: z.string().min(1).describe('Mount point of the drive; writes are refused unless it is mounted'),
    /** Filesystem label the mounted drive must carry (read from its superblock, else blkid, else /dev/disk/by-label). */
    expect_label: z.string().min(1).optional().describe('Filesystem label the mounted drive must have'),
    /** Filesystem UUID the mounted drive must carry (read like the label). */
    expect_uuid: z.string().min(1).optional().describe('Filesystem UUID the mounted drive must have'),
    /** When the drive is not mounted, a run skips this target (status `skipped`) instead of failing it. */
    optional: z.boolean().default(false).describe('Skip this target, rather than fail it, when the drive is not mounted'),
  },
  location: (options, context) => `directory ${canonicalPath(resolveUserPath(context.configDir, options.path))}`,
  async create(name, options, context) {
    const { UsbAdapter } = await import('./adapter.js');
    return new UsbAdapter(name, usbOptions(options, context.configDir));
  },
  async createTree(name, options, context) {
    const [{ UsbAdapter }, { LocalTree }] = await Promise.all([import('./adapter.js'), import('../local/tree.js')]);
    const opts = usbOptions(options, context.configDir);
    // The archive adapter's probe is the mount check (mounted, right label or UUID), and its
    // `absent` says when an optional drive is not mounted, so both formats skip it alike.
    const drive = new UsbAdapter(name, opts);
    const mounted = async () => { await drive.probe(); };
    return new LocalTree(name, opts.root, { beforeWrite: mounted, beforeList: mounted, absent: () => drive.absent() });
  },
});

function usbOptions(options: { path: string; mountpoint: string; expect_label?: string; expect_uuid?: string; optional?: boolean }, configDir: string) {
  return {
    root: resolveUserPath(configDir, options.path),
    mountpoint: resolveUserPath(configDir, options.mountpoint),
    expectLabel: options.expect_label,
    expectUuid: options.expect_uuid,
    optional: options.optional,
  };
}
