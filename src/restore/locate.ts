import type { LoadedConfig } from '../config/load.js';
import { describeError, ExitError } from '../errors.js';
import type { Logger } from '../log.js';
import { readCatalog, type StoredArchive } from '../storage/catalog.js';
import { closeTargets, selectTargetNames, type Target } from '../storage/targets.js';
import { openTarget } from '../../adapters/index.js';
import { selectArchive } from './select.js';

export interface Located {
  target: Target;
  archive: StoredArchive;
  /** Every target that was opened; close them with closeTargets when done. */
  opened: Target[];
}

/**
 * Finds the archive to restore. With `from`, only that target is asked.
 * Otherwise every target is asked in config order: an explicit name comes
 * from the first target that holds it complete; `latest`/`--at` take the
 * newest match across all targets (the earlier target on a tie). Only
 * archives whose manifest is bound to them count (a foreign one is refused
 * by name), and archives dated more than an hour ahead are never `latest`.
 * A target that cannot be read is skipped with a warning.
 */
export async function locateArchive(
  config: LoadedConfig,
  query: { which?: string; at?: Date; from?: string },
  log: Logger,
  signal?: AbortSignal,
): Promise<Located> {
  const names = selectTargetNames(config, query.from ? [query.from] : undefined);
  const opened: Target[] = [];
  let best: { target: Target; archive: StoredArchive } | undefined;
  const errors: string[] = [];
  const now = new Date();
  try {
    for (const name of names) {
      const target = await openTarget(config, name, log);
      opened.push(target);
      try {
        const catalog = await readCatalog(target.adapter, config.job, { signal });
        const foreign = catalog.foreign.find((a) => a.name === query.which);
        if (foreign) throw new Error(`archive ${foreign.name} on target ${name} is foreign and is never restored, pulled or verified: ${foreign.reason}`);
        const archive = selectArchive(catalog.complete, query.which, query.at, `target ${name}`, now);
        if (query.which && query.which !== 'latest') return { target, archive, opened };
        if (!best || archive.created > best.archive.created) best = { target, archive };
      } catch (err) {
        errors.push(describeError(err));
        if (names.length > 1) log.warn(describeError(err));
      }
    }
  } catch (err) {
    await closeTargets(opened);
    throw err;
  }
  if (!best) {
    await closeTargets(opened);
    throw new ExitError(1, errors.length === 1 ? errors[0]! : `no matching archive on any target:\n  ${errors.join('\n  ')}`);
  }
  return { ...best, opened };
}
