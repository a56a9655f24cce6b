import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ListedEntry {
  /** Path below the listed root; a name that is not valid UTF-8 is shown as `hex:<bytes>` for that component. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits (setuid/setgid/sticky included); undefined for symlinks. */
  mode?: number;
  size?: number;
  sha256?: string;
  link?: string;
  /** Whole seconds (SFTP and rsync keep mtimes in whole seconds); only with `mtimes`. */
  mtime?: number;
}

/**
 * Every entry below `root` (the root itself excluded), sorted by path, with
 * what a restore must give back: type, mode, size, content hash, symlink
 * target and, with `mtimes`, file mtimes. Names are read as bytes, so a
 * name that is not valid UTF-8 is compared exactly. Entries whose path
 * `skip` matches are left out (with what is under them).
 */
export function listTree(root: string | Buffer, options: { mtimes?: boolean; skip?: (path: string) => boolean } = {}): ListedEntry[] {
  const out: ListedEntry[] = [];
  const visit = (dir: Buffer, rel: string) => {
    const names = readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const name of names) {
      const path = rel + (isUtf8(name) ? name.toString('utf8') : `hex:${name.toString('hex')}`);
      if (options.skip?.(path)) continue;
      const full = Buffer.concat([dir, Buffer.from('/'), name]);
      const st = lstatSync(full);
      const entry: ListedEntry = { path, type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other' };
      if (entry.type === 'symlink') {
        entry.link = readlinkSync(full, 'buffer').toString('hex');
      } else {
        entry.mode = st.mode & 0o7777;
      }
      if (entry.type === 'file') {
        entry.size = st.size;
        entry.sha256 = createHash('sha256').update(readFileSync(full)).digest('hex');
        if (options.mtimes) entry.mtime = Math.floor(st.mtimeMs / 1000);
      }
      out.push(entry);
      if (entry.type === 'dir') visit(full, `${path}/`);
    }
  };
  visit(Buffer.isBuffer(root) ? root : Buffer.from(root), '');
  return out;
}
