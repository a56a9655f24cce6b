import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, posix, resolve } from 'node:path';

/** Resolves a user-supplied path: `~` is the home directory, relative paths are relative to `base`. */
export function resolveUserPath(base: string, p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(base, p);
}

/**
 * The absolute path with every symlink resolved, as far as it exists: the
 * deepest existing ancestor is resolved and the missing rest appended, so a
 * directory that a run would create still compares equal to its future self.
 */
export function canonicalPath(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync.native(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(canonicalPath(parent), basename(abs));
  }
}

/**
 * A remote directory as a comparable string: `~/x` and `x` (relative to the
 * login directory of `user`) become `~user/x`, `.` segments and trailing
 * slashes go.
 */
export function canonicalRemotePath(user: string, p: string): string {
  const rel = p === '~' ? '.' : p.startsWith('~/') ? p.slice(2) : p;
  const normal = posix.normalize(rel).replace(/(.)\/+$/, '$1');
  return normal.startsWith('/') ? normal : normal === '.' ? `~${user}` : `~${user}/${normal}`;
}
