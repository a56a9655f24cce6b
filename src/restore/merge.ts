import type { Stats } from 'node:fs';
import { lstat, mkdir, opendir, readdir, rename, utimes } from 'node:fs/promises';
import { join } from 'node:path';

/** An archive entry and an existing destination path of a different type (file, directory, symlink, other). */
export class TypeConflictError extends Error {
  constructor(readonly path: string, archiveType: string, destinationType: string) {
    super(`refusing to restore ${path}: the archive holds a ${archiveType} there but the destination has a ${destinationType}; nothing was changed (move it away first)`);
    this.name = 'TypeConflictError';
  }
}

/**
 * Moves the contents of a fully extracted tree into an existing directory.
 * First every entry is compared with what `to` already has at that path: when
 * any pair differs in type (file vs directory vs symlink), it rejects with a
 * TypeConflictError naming the first such path and nothing in `to` is
 * touched. Then files and symlinks replace same-named ones (rename is atomic
 * per file), directories are merged, and entries of `to` that the archive
 * does not hold are left alone. `--force` never deletes anything. Directory
 * mtimes from the archive are kept.
 */
export async function mergeInto(from: string, to: string): Promise<void> {
  await checkTypes(from, to);
  await moveInto(from, to);
}

function kind(s: Stats): string {
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isDirectory()) return 'directory';
  if (s.isFile()) return 'file';
  return 'special file';
}

/** Walks `from` one directory at a time (never a whole listing in memory), descending only where both sides are directories. */
async function checkTypes(from: string, to: string): Promise<void> {
  for await (const entry of await opendir(from)) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    const d = await lstat(dst).catch(() => undefined);
    if (!d) continue;
    const s = await lstat(src);
    if (kind(s) !== kind(d)) throw new TypeConflictError(dst, kind(s), kind(d));
    if (s.isDirectory()) await checkTypes(src, dst);
  }
}

/** Entries are moved out of `from` as it is read, so each directory's names are listed before the first move. */
async function moveInto(from: string, to: string): Promise<void> {
  for (const name of await readdir(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const s = await lstat(src);
    const d = await lstat(dst).catch(() => undefined);
    if (s.isDirectory() && d?.isDirectory()) {
      await moveInto(src, dst);
      await utimes(dst, s.atime, s.mtime);
      continue;
    }
    if (!d) await mkdir(to, { recursive: true });
    await rename(src, dst);
  }
}
