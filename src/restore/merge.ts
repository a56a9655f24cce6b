import type { Stats } from 'node:fs';
import { lstat, mkdir, opendir, readdir, rename, utimes } from 'node:fs/promises';
import { FerryError } from '../errors.js';

/** An archive entry and an existing destination path of a different type (file, directory, symlink, other). */
export class TypeConflictError extends FerryError {
  constructor(readonly path: string, archiveType: string, destinationType: string) {
    super(`refusing to restore ${path}: the archive holds a ${archiveType} there but the destination has a ${destinationType}; nothing was changed (move it away first)`);
  }
}

/*
 * Paths are handled as binary strings (one char per byte, latin1), as in
 * extract.ts, so names that are not valid UTF-8 are read, compared and
 * moved byte for byte; they become Buffers only at the file-system call.
 */
const bytes = (path: string) => Buffer.from(path, 'latin1');
const text = (path: string) => Buffer.from(path, 'latin1').toString('utf8');
const binary = (name: Buffer | string) => (typeof name === 'string' ? Buffer.from(name) : name).toString('latin1');

/**
 * Moves the contents of a fully extracted tree into an existing directory.
 * First every entry is compared with what `to` already has at that path: when
 * any pair differs in type (file vs directory vs symlink), it rejects with a
 * TypeConflictError naming the first such path and nothing in `to` is
 * touched. Then files and symlinks replace same-named ones (rename is atomic
 * per file), directories are merged, and entries of `to` that the archive
 * does not hold are left alone. `--force` never deletes anything. Directory
 * mtimes from the archive are kept. Names need not be valid UTF-8.
 */
export async function mergeInto(from: string, to: string): Promise<void> {
  await checkTypes(binary(from), binary(to));
  await moveInto(binary(from), binary(to));
}

function kind(s: Stats): string {
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isDirectory()) return 'directory';
  if (s.isFile()) return 'file';
  return 'special file';
}

/** Walks `from` one directory at a time (never a whole listing in memory), descending only where both sides are directories. */
async function checkTypes(from: string, to: string): Promise<void> {
  // Node returns Buffer names with encoding 'buffer'; its types only know string names.
  for await (const entry of await opendir(bytes(from), { encoding: 'buffer' as BufferEncoding })) {
    const name = binary(entry.name as unknown as Buffer);
    const src = `${from}/${name}`;
    const dst = `${to}/${name}`;
    const d = await lstat(bytes(dst)).catch(() => undefined);
    if (!d) continue;
    const s = await lstat(bytes(src));
    if (kind(s) !== kind(d)) throw new TypeConflictError(text(dst), kind(s), kind(d));
    if (s.isDirectory()) await checkTypes(src, dst);
  }
}

/** Entries are moved out of `from` as it is read, so each directory's names are listed before the first move. */
async function moveInto(from: string, to: string): Promise<void> {
  for (const raw of await readdir(bytes(from), { encoding: 'buffer' })) {
    const name = binary(raw);
    const src = `${from}/${name}`;
    const dst = `${to}/${name}`;
    const s = await lstat(bytes(src));
    const d = await lstat(bytes(dst)).catch(() => undefined);
    if (s.isDirectory() && d?.isDirectory()) {
      await moveInto(src, dst);
      await utimes(bytes(dst), s.atime, s.mtime);
      continue;
    }
    if (!d) await mkdir(bytes(to), { recursive: true });
    await rename(bytes(src), bytes(dst));
  }
}
