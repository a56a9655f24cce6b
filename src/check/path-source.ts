import { closeSync, fstatSync, openSync } from 'node:fs';
import type { LoadedConfig } from '../config/load.js';
import type { PathSource } from '../config/sources.js';
import { silentLogger } from '../log.js';
import { preparePathSource } from '../pipeline/sources/path.js';
import { OPEN_NOFOLLOW, walkSource } from '../pipeline/walk.js';
import type { SourceCheck } from './types.js';

/** Unreadable files listed by name in a check; the rest are counted. */
const LIST_AT_MOST = 20;

/**
 * Walks a `path` source as the run will (the same walk, the same excludes)
 * and opens every file once, without reading it: a missing source is an
 * error (the run fails), files and directories that cannot be opened are
 * listed (the run would store the rest and exit 3), and each exclude
 * pattern that leaves nothing out is a warning. Holds counters and at most
 * LIST_AT_MOST names, never the tree.
 */
export async function checkPathSource(source: PathSource, config: LoadedConfig, check: SourceCheck, signal?: AbortSignal): Promise<void> {
  let prepared;
  try {
    prepared = await preparePathSource(source, { config, stagingDir: config.stagingDir, log: silentLogger });
  } catch (err) {
    check.errors.push((err as Error).message);
    return;
  }
  const patterns = source.exclude.filter((p) => !p.startsWith('!'));
  const unmatched = new Set(patterns);
  let unreadable = 0;
  const noteUnreadable = (path: string, message: string) => {
    unreadable++;
    if (check.unreadable.length < LIST_AT_MOST) check.unreadable.push({ path, message });
  };
  let files = 0;
  let bytes = 0;
  const walk = walkSource(prepared, {
    warn: () => {},
    unreadable: noteUnreadable,
    excluded: (_path, exclusion) => {
      if (exclusion.rule === 'exclude' && exclusion.pattern) unmatched.delete(exclusion.pattern);
    },
  });
  for (const entry of walk) {
    if (files % 1000 === 0) signal?.throwIfAborted();
    if (entry.type !== 'file') continue;
    files++;
    try {
      const fd = openSync(entry.fsPath, OPEN_NOFOLLOW);
      try {
        bytes += fstatSync(fd).size;
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') noteUnreadable(entry.archivePath, `file could not be opened (${code}); the run would not store it`);
    }
  }
  check.details.push(`${files} file${files === 1 ? '' : 's'}, ${bytes} bytes`);
  if (unreadable > check.unreadable.length) check.details.push(`${unreadable - check.unreadable.length} more unreadable entries not listed`);
  for (const p of unmatched) check.warnings.push(`exclude "${p}" leaves nothing out of ${source.path} (patterns are relative to the source path)`);
}
