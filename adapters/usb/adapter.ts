import { realpath, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { OpOptions, PutBody } from '../../src/storage/adapter.js';
import { StorageError } from '../../src/storage/errors.js';
import { LocalAdapter } from '../local/adapter.js';
import { findMount } from './mountinfo.js';

export interface UsbOptions {
  root: string;
  mountpoint: string;
  expectLabel?: string;
  expectUuid?: string;
  /** An unplugged drive makes the target absent (skipped by a run) rather than failed. */
  optional?: boolean;
  /** Where mounts are read from; a fixture path only in tests that cannot mount. */
  mountInfoPath?: string;
}

/**
 * A local directory on a removable drive. Before any write it proves the
 * drive is there: `mountpoint` must be a mounted filesystem (never the empty
 * directory on the root disk), optionally the expected label or UUID, and
 * with room for the archive.
 */
export class UsbAdapter extends LocalAdapter {
  constructor(name: string, private readonly opts: UsbOptions) {
    super(name, opts.root);
    const rel = relative(opts.mountpoint, opts.root);
    if (rel.startsWith('..')) {
      throw new StorageError('CONFIG', name, `path ${opts.root} is not inside mountpoint ${opts.mountpoint}`);
    }
  }

  /** Every write first checks the mount (free space is checked by the core before each put). */
  protected override async beforeWrite(_body: PutBody | undefined, _options?: OpOptions): Promise<void> {
    await this.checkMounted();
  }

  /** Free bytes on the mounted drive; undefined when nothing is mounted (never the root disk's space). */
  override async freeSpace(options?: OpOptions): Promise<number | undefined> {
    const mounted = await this.checkMounted().then(() => true, () => false);
    return mounted ? super.freeSpace(options) : undefined;
  }

  private async checkMounted(): Promise<void> {
    const { mountpoint } = this.opts;
    let real: string;
    try {
      real = await realpath(mountpoint);
    } catch {
      throw new StorageError('NOT_MOUNTED', this.name, `mountpoint ${mountpoint} does not exist; is the drive plugged in and mounted?`);
    }
    const mount = await findMount(real, this.opts.mountInfoPath);
    if (!mount) {
      throw new StorageError('NOT_MOUNTED', this.name, `nothing is mounted at ${mountpoint}; refusing to write to the directory on the root disk`);
    }
    for (const [kind, expected] of [['label', this.opts.expectLabel], ['uuid', this.opts.expectUuid]] as const) {
      if (expected === undefined) continue;
      const device = await deviceNumber(join('/dev/disk', `by-${kind}`, expected));
      if (device !== mount.device) {
        throw new StorageError('WRONG_DEVICE', this.name, `the drive at ${mountpoint} (${mount.source}) does not have ${kind} ${expected}`);
      }
    }
  }

  /**
   * With `optional`, a drive that is not mounted (NOT_MOUNTED) makes the
   * target absent. A mounted drive that is not the expected one
   * (WRONG_DEVICE) is not absent: its push fails, so someone looks.
   */
  async absent(_options?: OpOptions): Promise<string | undefined> {
    if (!this.opts.optional) return undefined;
    try {
      await this.checkMounted();
      return undefined;
    } catch (err) {
      if (err instanceof StorageError && err.code === 'NOT_MOUNTED') return `drive not mounted at ${this.opts.mountpoint}`;
      return undefined;
    }
  }

  /** Reading an unplugged drive's empty mount directory would look like "no archives"; say it is not mounted instead. */
  override async list(prefix: string, options?: OpOptions) {
    await this.checkMounted();
    return super.list(prefix, options);
  }

  override async get(key: string, options?: OpOptions) {
    await this.checkMounted();
    return super.get(key, options);
  }

  override async probe(options?: OpOptions): Promise<string[]> {
    await this.beforeWrite(undefined, options);
    const mount = await findMount(await realpath(this.opts.mountpoint), this.opts.mountInfoPath);
    return [`mounted ${mount?.source} (${mount?.fsType}) at ${this.opts.mountpoint}`];
  }
}

/** `major:minor` of the block device a /dev/disk/by-* link points to, or undefined. */
async function deviceNumber(link: string): Promise<string | undefined> {
  try {
    const s = await stat(link);
    const rdev = s.rdev;
    // Linux encodes dev_t with major in bits 8-19 and 32+, minor in bits 0-7 and 20-31.
    const major = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
    const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
    return `${major}:${minor}`;
  } catch {
    return undefined;
  }
}
