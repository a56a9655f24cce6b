import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testTreeTarget } from '../conformance/tree-suite.js';

testTreeTarget('a local directory', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ferry-tree-local-'));
  return {
    target: (path) => ({ type: 'local', path }),
    pathFor: (job) => join(root, job),
    onDisk: (job) => join(root, job),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

testTreeTarget('a usb drive (mounted tmpfs)', async () => {
  const mnt = await mkdtemp(join(tmpdir(), 'ferry-tree-usb-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512m', 'none', mnt]);
  return {
    target: (path) => ({ type: 'usb', path, mountpoint: mnt }),
    pathFor: (job) => join(mnt, job),
    onDisk: (job) => join(mnt, job),
    cleanup: async () => {
      execFileSync('umount', [mnt]);
      await rm(mnt, { recursive: true, force: true });
    },
  };
});
