import type { LoadedConfig } from '../../config/load.js';
import type { SourceConfig, SourceKind } from '../../config/sources.js';
import type { Logger } from '../../log.js';
import type { ExclusionOptions } from '../exclude.js';

/**
 * A source made ready for archiving: every kind (directory, SQLite snapshot,
 * pg_dump spool, command output) ends up as a file or directory on disk that
 * the tar writer streams under `as`.
 */
export interface PreparedSource {
  /** Path inside the archive. */
  as: string;
  kind: SourceKind;
  /** File or directory whose contents are stored under `as`. */
  fsPath: string;
  /** .gitignore-style patterns, relative to fsPath, to leave out. */
  exclude: string[];
  /** The other exclusion rules of a path source (see `src/pipeline/exclude.ts`). */
  rules?: ExclusionOptions;
  /** Where the data lives on this machine (the configured path, not a staging copy); used by in-place restore. */
  origin?: string;
  /** For a path source whose configured path is (or goes through) a symlink: the real path that is read. */
  resolved?: string;
  /**
   * Paths relative to fsPath that are left out because Ferry itself writes
   * there (a target, the state or staging directory); listed in the inventory.
   */
  autoExclude?: { path: string; reason: string }[];
  /** Extra facts for the inventory (e.g. database name, dump format, command exit code). */
  meta?: Record<string, unknown>;
  /** Removes temporary files. Always called once, after success or failure. Never throws. */
  cleanup(): Promise<void>;
}

export interface SourceContext {
  config: LoadedConfig;
  /** Directory for temporary files of this run (created, and removed after the run). */
  stagingDir: string;
  log: Logger;
  signal?: AbortSignal;
}

/** Makes one configured source ready. Rejects with an Error whose message names the source. */
export type PrepareSource<S extends SourceConfig = SourceConfig> = (source: S, context: SourceContext) => Promise<PreparedSource>;
