import type { LoadedConfig } from '../config/load.js';
import { ArchiveNotFoundError, describeError, FerryError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { readCatalog, type StoredArchive } from '../storage/catalog.js';
import { parseArchiveName } from '../storage/layout.js';
import type { Manifest } from '../storage/manifest.js';
import { readManifest } from '../storage/manifest-read.js';
import { closeTargets, selectTargetNames, type Target } from '../storage/targets.js';
import { openTarget } from '../../adapters/index.js';
import { selectArchive } from './select.js';

/** Which archive to use: a name or `latest`, optionally pinned to a target or a point in time. */
export interface ArchiveQuery {
  which?: string;
  from?: string;
  at?: Date;
}

interface Located {
  target: Target;
  archive: StoredArchive;
  /** Every target that was opened; close them with closeTargets when done. */
  opened: Target[];
}

/** One located archive with its manifest (bound to it), on the target it is read from. */
export interface LocatedArchive {
  target: Target;
  manifest: Manifest;
}

/**
 * `name` when it is an archive name of `job`, else a UsageError naming it:
 * another job's archive, a path such as `../x` or a typo is never looked for.
 */
export function checkArchiveName(name: string, job: string): string {
  if (!parseArchiveName(name, job)) throw new UsageError(`"${name}" is not an archive name of job ${job}`);
  return name;
}

/**
 * Finds the archive to restore. With `from`, only that target is asked.
 * Otherwise every target is asked in config order: an explicit name comes
 * from the first target that holds it complete; `latest`/`--at` take the
 * newest match across all targets (the earlier target on a tie). Only
 * archives whose manifest is bound to them count (a foreign one is refused
 * by name), and archives dated more than an hour ahead are never `latest`.
 * A target that cannot be read is skipped with a warning. Throws a
 * UsageError for a name that is not one of the job's archive names, and an
 * ArchiveNotFoundError when no target has a match.
 */
async function locateArchive(config: LoadedConfig, query: ArchiveQuery, log: Logger, signal?: AbortSignal): Promise<Located> {
  const names = selectTargetNames(config, query.from ? [query.from] : undefined);
  if (query.which && query.which !== 'latest') checkArchiveName(query.which, config.job);
  const opened: Target[] = [];
  let best: { target: Target; archive: StoredArchive } | undefined;
  const errors: unknown[] = [];
  const now = new Date();
  try {
    for (const name of names) {
      const target = await openTarget(config, name, log);
      opened.push(target);
      try {
        const catalog = await readCatalog(target.adapter, config.job, { signal });
        const foreign = catalog.foreign.find((a) => a.name === query.which);
        if (foreign) throw new ArchiveNotFoundError(`archive ${foreign.name} on target ${name} is foreign and is never restored, pulled or verified: ${foreign.reason}`);
        const archive = selectArchive(catalog.complete, query.which, query.at, `target ${name}`, now);
        if (query.which && query.which !== 'latest') return { target, archive, opened };
        if (!best || archive.created > best.archive.created) best = { target, archive };
      } catch (err) {
        errors.push(err);
        if (names.length > 1) log.warn(describeError(err));
      }
    }
  } catch (err) {
    await closeTargets(opened);
    throw err;
  }
  if (!best) {
    await closeTargets(opened);
    const messages = errors.map(describeError);
    const message = messages.length === 1 ? messages[0]! : `no matching archive on any target:\n  ${messages.join('\n  ')}`;
    // Only "not there" everywhere means not found; an unreadable target means we cannot tell.
    const notFound = errors.every((e) => e instanceof ArchiveNotFoundError);
    throw notFound ? new ArchiveNotFoundError(message, { cause: errors[0] }) : new FerryError(message, { cause: errors[0] });
  }
  return { ...best, opened };
}

/**
 * Locates the archive `query` names, reads its manifest, and calls `use`
 * with both; every target opened on the way is closed when `use` settles
 * (or when locating or reading the manifest fails), whatever the outcome.
 * The one way restore, pull, verify, list-sources and peeking reach an archive.
 */
export async function withArchive<T>(
  config: LoadedConfig,
  query: ArchiveQuery,
  options: { log: Logger; signal?: AbortSignal },
  use: (found: LocatedArchive) => Promise<T>,
): Promise<T> {
  const located = await locateArchive(config, query, options.log, options.signal);
  try {
    const manifest = await readManifest(located.target.adapter, located.archive.name, options.signal);
    return await use({ target: located.target, manifest });
  } finally {
    await closeTargets(located.opened);
  }
}
