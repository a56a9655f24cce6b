import { realpath, stat } from 'node:fs/promises';
import type { PathSource } from '../../config/sources.js';
import { sourceArchivePath, type LoadedConfig } from '../../config/load.js';
import { pathInside, realPathOf } from '../../config/source-rules.js';
import { resolveUserPath } from '../../util/paths.js';
import type { PrepareSource } from './types.js';

/**
 * A directory or single file, read in place while the archive streams. A
 * symlink at the configured path is followed: the source is what it points
 * to, and `resolved` records that real path. Ferry's own directories inside
 * the source (local/usb target paths, the state directory, the staging
 * directory) become automatic excludes. Rejects naming the source when it
 * is missing or is not a directory or regular file.
 */
export const preparePathSource: PrepareSource<PathSource> = async (source, { config, stagingDir }) => {
  const fsPath = resolveUserPath(config.configDir, source.path);
  let real: string;
  try {
    real = await realpath(fsPath);
    const st = await stat(real);
    if (!st.isDirectory() && !st.isFile()) throw new Error(`source ${source.path}: ${fsPath} is not a directory or regular file`);
  } catch (err) {
    if (!(err as NodeJS.ErrnoException).code) throw err;
    throw new Error(`source ${source.path}: cannot read ${fsPath}: ${(err as NodeJS.ErrnoException).code}`, { cause: err });
  }
  return {
    as: sourceArchivePath(source),
    kind: 'path',
    fsPath: real,
    resolved: real !== fsPath ? real : undefined,
    exclude: source.exclude,
    rules: {
      ifPresent: source.exclude_if_present,
      caches: source.exclude_caches,
      oneFileSystem: source.one_file_system,
      largerThan: source.exclude_larger_than,
    },
    autoExclude: ownDirectoriesInside(real, config, stagingDir),
    origin: fsPath,
    cleanup: async () => {},
  };
};

/** Ferry's own directories inside `root`, as paths relative to it, with the reason each is left out. */
function ownDirectoriesInside(root: string, config: LoadedConfig, runStagingDir: string): { path: string; reason: string }[] {
  const own: [string, string][] = [];
  for (const [name, t] of Object.entries(config.targets)) {
    if ((t.type === 'local' || t.type === 'usb') && typeof t.path === 'string') own.push([resolveUserPath(config.configDir, t.path), `target ${name}`]);
  }
  own.push([config.stateDir, 'state_dir']);
  if (config.staging_dir) own.push([config.stagingDir, 'staging_dir']);
  own.push([runStagingDir, 'staging_dir']);
  const out: { path: string; reason: string }[] = [];
  for (const [dir, reason] of own) {
    const rel = pathInside(root, realPathOf(dir));
    if (rel && !out.some((o) => o.path === rel || rel.startsWith(`${o.path}/`))) out.push({ path: rel, reason });
  }
  return out;
}
