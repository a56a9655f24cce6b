import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

/** Resolves a user-supplied path: `~` is the home directory, relative paths are relative to `base`. */
export function resolveUserPath(base: string, p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(base, p);
}
