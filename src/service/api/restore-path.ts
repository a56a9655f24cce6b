import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FerryError } from '../../errors.js';

/** A restore destination outside `api.restore_root` (403). */
export class ForbiddenPath extends FerryError {}

const inside = (root: string, p: string) => {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/**
 * Resolves a restore destination against `root` and refuses (403) any path
 * outside it: `..` segments, absolute paths elsewhere, and symlinks along the
 * existing part of the path that lead out of the root. This is a check of
 * path strings at one moment; writes must go through `openInsideRoot`.
 */
export async function confineToRoot(root: string, requested: string): Promise<string> {
  const absRoot = resolve(root);
  const dest = resolve(absRoot, requested);
  if (!inside(absRoot, dest)) throw new ForbiddenPath(`restore destination is outside api.restore_root`);
  const realRoot = await realpath(absRoot).catch(() => absRoot);
  // Check the deepest part of the path that exists, up to the root itself.
  for (let existing = dest; inside(absRoot, existing); existing = dirname(existing)) {
    let real: string;
    try {
      real = await realpath(existing);
    } catch {
      if (existing === absRoot) break;
      continue;
    }
    if (!inside(realRoot, real)) throw new ForbiddenPath('restore destination is outside api.restore_root (through a symlink)');
    break;
  }
  return dest;
}

/** A restore destination held open inside the root. */
export interface ConfinedDestination {
  /** The destination as the user named it (for messages and results). */
  path: string;
  /**
   * The same destination addressed through the open descriptor of its
   * parent directory (`/proc/self/fd/<n>/<name>`). Resolving it never walks
   * the path from the root again, so a directory swapped for a symlink after
   * `openInsideRoot` cannot redirect a write.
   */
  viaFd: string;
  /**
   * Checks, right before the restored tree is moved into place, that the
   * held parent still lies inside the root (it may have been moved) and that
   * the destination itself is not a symlink. Throws ForbiddenPath otherwise.
   */
  recheck(): Promise<void>;
  close(): Promise<void>;
}

const DIR_NOFOLLOW = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Opens the parent of `requested` inside `root`, one component at a time
 * with O_NOFOLLOW through `/proc/self/fd` of the directory opened before it,
 * creating missing directories (mode 0755) on the way. A component that is a
 * symlink (or not a directory) is refused with 403, whatever it points to.
 * The caller must `close()` the result.
 */
export async function openInsideRoot(root: string, requested: string): Promise<ConfinedDestination> {
  const dest = await confineToRoot(root, requested);
  await mkdir(resolve(root), { recursive: true });
  const realRoot = await realpath(resolve(root));
  const rel = relative(resolve(root), dest);
  // Restoring into the root itself: its parent is held, and the root is the destination.
  const [start, parts, name] = rel === ''
    ? [dirname(realRoot), [], basename(realRoot)]
    : [realRoot, rel.split(sep).slice(0, -1), basename(dest)];
  let dir: FileHandle = await open(start, DIR_NOFOLLOW);
  try {
    for (const part of parts) {
      const next = `/proc/self/fd/${dir.fd}/${part}`;
      let opened: FileHandle;
      try {
        opened = await open(next, DIR_NOFOLLOW);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw refusal(err, dest);
        await mkdir(next, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'EEXIST') throw e; });
        opened = await open(next, DIR_NOFOLLOW).catch((e: unknown) => { throw refusal(e, dest); });
      }
      await dir.close();
      dir = opened;
    }
  } catch (err) {
    await dir.close();
    throw err;
  }
  const held = dir;
  const viaFd = `/proc/self/fd/${held.fd}/${name}`;
  const boundary = rel === '' ? dirname(realRoot) : realRoot;
  const confined: ConfinedDestination = {
    path: dest,
    viaFd,
    async recheck() {
      const now = await readlink(`/proc/self/fd/${held.fd}`);
      if (!inside(boundary, now) || (rel === '' && join(now, name) !== realRoot)) {
        throw new ForbiddenPath('restore destination is outside api.restore_root (a directory was moved out of it during the restore)');
      }
      const s = await lstat(viaFd).catch(() => undefined);
      if (s?.isSymbolicLink()) throw new ForbiddenPath('restore destination is outside api.restore_root (replaced by a symlink during the restore)');
    },
    close: () => held.close(),
  };
  try {
    await confined.recheck();
  } catch (err) {
    await held.close();
    throw err;
  }
  return confined;
}

function refusal(err: unknown, dest: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP' || code === 'ENOTDIR') return new ForbiddenPath(`restore destination ${dest} is outside api.restore_root (a component is a symlink or not a directory)`);
  return err as Error;
}
