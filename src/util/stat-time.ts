import type { Stats } from 'node:fs';

/**
 * A file's mtime as a copy of it should carry: truncated to the millisecond.
 * Node's `Stats.mtime` rounds to the nearest millisecond, so a file written in
 * the last half millisecond of a second would be stored (and restored through
 * tar, which keeps whole seconds) a second later.
 */
export function mtimeOf(st: Pick<Stats, 'mtimeMs'>): Date {
  return new Date(Math.floor(st.mtimeMs));
}
