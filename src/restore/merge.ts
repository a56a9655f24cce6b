import { lstat, mkdir, readdir, rename, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Moves the contents of a fully extracted tree into an existing directory.
 * Files and symlinks replace same-named entries (rename is atomic per file);
 * directories are merged; entries of `to` that the archive does not hold are
 * left alone. Directory mtimes from the archive are kept.
 */
export async function mergeInto(from: string, to: string): Promise<void> {
  for (const name of await readdir(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const s = await lstat(src);
    const d = await lstat(dst).catch(() => undefined);
    if (s.isDirectory() && d?.isDirectory()) {
      await mergeInto(src, dst);
      await utimes(dst, s.atime, s.mtime);
      continue;
    }
    if (d && (d.isDirectory() || s.isDirectory())) await rm(dst, { recursive: true, force: true });
    else if (!d) await mkdir(to, { recursive: true });
    await rename(src, dst);
  }
}
