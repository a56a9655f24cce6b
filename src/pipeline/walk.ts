import { lstat, readdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import picomatch from 'picomatch';
import type { PreparedSource } from './sources/types.js';

export interface WalkEntry {
  /** Path inside the archive (no trailing slash). */
  archivePath: string;
  fsPath: string;
  type: 'file' | 'dir' | 'symlink';
  stat: Stats;
}

/**
 * Depth-first walk of one source in a stable (sorted) order: each directory
 * comes before its contents. `exclude` globs match paths relative to the
 * source root; an excluded directory is not descended into. Sockets, FIFOs
 * and devices are skipped with a warning. Entries that vanish are skipped.
 */
export async function* walkSource(source: PreparedSource, warn: (path: string, message: string) => void): AsyncGenerator<WalkEntry> {
  const excluded = source.exclude.length ? picomatch(source.exclude, { dot: true }) : () => false;
  async function* visit(fsPath: string, rel: string, archivePath: string): AsyncGenerator<WalkEntry> {
    let st: Stats;
    try {
      st = await lstat(fsPath);
    } catch (err) {
      warn(archivePath, `vanished before it was read (${(err as NodeJS.ErrnoException).code}); not stored`);
      return;
    }
    if (rel && (excluded(rel) || (st.isDirectory() && excluded(`${rel}/`)))) return;
    if (st.isSymbolicLink()) return yield { archivePath, fsPath, type: 'symlink', stat: st };
    if (st.isFile()) return yield { archivePath, fsPath, type: 'file', stat: st };
    if (!st.isDirectory()) {
      warn(archivePath, 'not a regular file, directory or symlink; not stored');
      return;
    }
    yield { archivePath, fsPath, type: 'dir', stat: st };
    let names: string[];
    try {
      names = await readdir(fsPath);
    } catch (err) {
      warn(archivePath, `directory could not be listed (${(err as NodeJS.ErrnoException).code}); its contents are not stored`);
      return;
    }
    names.sort();
    for (const name of names) yield* visit(join(fsPath, name), rel ? `${rel}/${name}` : name, `${archivePath}/${name}`);
  }
  yield* visit(source.fsPath, '', source.as);
}
