import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

export class ForbiddenPath extends Error {
  readonly statusCode = 403;
}

const inside = (root: string, p: string) => {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
};

/**
 * Resolves a restore destination against `root` and refuses (403) any path
 * outside it: `..` segments, absolute paths elsewhere, and symlinks along the
 * existing part of the path that lead out of the root.
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
