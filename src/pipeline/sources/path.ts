import { lstat } from 'node:fs/promises';
import type { PathSource } from '../../config/sources.js';
import { sourceArchivePath } from '../../config/load.js';
import { resolveUserPath } from '../../util/paths.js';
import type { PrepareSource } from './types.js';

/** A directory or single file, read in place while the archive streams. */
export const preparePathSource: PrepareSource<PathSource> = async (source, { config }) => {
  const fsPath = resolveUserPath(config.configDir, source.path);
  try {
    await lstat(fsPath);
  } catch (err) {
    throw new Error(`source ${source.path}: cannot read ${fsPath}: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
  }
  return { as: sourceArchivePath(source), kind: 'path', fsPath, exclude: source.exclude, origin: fsPath, cleanup: async () => {} };
};
