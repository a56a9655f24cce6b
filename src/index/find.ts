import picomatch from 'picomatch';
import type { LoadedConfig } from '../config/load.js';
import { describeError, UsageError } from '../errors.js';
import { readCatalog } from '../storage/catalog.js';
import { isDatedInFuture } from '../storage/layout.js';
import { readManifest } from '../storage/manifest-read.js';
import { closeTargets, selectTargetNames } from '../storage/targets.js';
import { openTarget } from '../../adapters/index.js';
import type { IndexEntry } from './format.js';
import { archiveEntries, type ReadEntriesOptions } from './read.js';
import { sortLine, splitSortLine, withSpools } from './spool.js';

/** One version of a found path: the same type and content in each of `archives`. */
export interface FoundVersion {
  type: IndexEntry['type'];
  size: number;
  sha256?: string;
  link?: string;
  /** mtime as stored in the newest archive holding this version. */
  mtime?: string;
  /** Where and when: the archives holding this version, oldest first. */
  archives: { archive: string; created: string }[];
}

export interface FoundPath {
  path: string;
  path_b64?: string;
  /** In order of first appearance. */
  versions: FoundVersion[];
}

export interface FindSummary {
  target: string;
  pattern: string;
  /** Archives searched. */
  archives: number;
  /** Paths found. */
  paths: number;
  /** Archives that could not be read, each with the reason (the search goes on without them). */
  errors: { archive: string; error: string }[];
}

/**
 * A glob's matcher (pure): a pattern without a slash matches the last name
 * of a path at any depth (`*.db`, as `find -name` and .gitignore do); one
 * with a slash matches the whole path from the archive's top (`app/**\/*.db`).
 * Dotfiles match.
 */
export function findMatcher(pattern: string): (path: string) => boolean {
  const p = pattern.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  if (!p) throw new UsageError('find: the pattern is empty');
  const isMatch = picomatch(p, { dot: true });
  if (p.includes('/')) return (path) => isMatch(path);
  return (path) => isMatch(path.slice(path.lastIndexOf('/') + 1));
}

/**
 * Finds the paths matching `pattern` in every complete archive of one
 * target (README: Looking inside archives), from the index sidecars (or the
 * archives, for ones made without one). Matches are sorted on disk by path
 * and time, so memory holds one path's versions at a time; `onPath` gets
 * each path with its versions and where each one is. An archive that cannot
 * be read is reported in `errors` and the others are still searched.
 */
export async function findInArchives(
  config: LoadedConfig,
  request: { pattern: string; target?: string },
  options: ReadEntriesOptions,
  onPath: (found: FoundPath) => void,
): Promise<FindSummary> {
  const matches = findMatcher(request.pattern);
  const [name] = selectTargetNames(config, request.target ? [request.target] : undefined);
  const target = await openTarget(config, name!, options.log);
  try {
    return await withSpools(config, 'find', 1, async ([spool]) => {
      const catalog = await readCatalog(target.adapter, config.job, { signal: options.signal });
      const now = new Date();
      const archives = catalog.complete.filter((a) => !isDatedInFuture(a.created, now));
      const summary: FindSummary = { target: target.name, pattern: request.pattern, archives: archives.length, paths: 0, errors: [] };
      for (const a of archives) {
        try {
          const manifest = await readManifest(target.adapter, a.name, options.signal);
          const created = a.created.toISOString();
          for await (const e of archiveEntries(target, manifest, options)) {
            if (matches(e.path)) spool!.add(sortLine([e.path_b64 ?? e.path, created], { archive: a.name, e }));
          }
        } catch (err) {
          if (options.signal?.aborted) throw err;
          summary.errors.push({ archive: a.name, error: describeError(err) });
          options.log.warn(`${a.name}: ${describeError(err)}`);
        }
      }
      for (const found of groupByPath(spool!.sorted())) {
        summary.paths++;
        onPath(found);
      }
      return summary;
    });
  } finally {
    await closeTargets([target]);
  }
}

function* groupByPath(lines: Iterable<string>): Generator<FoundPath> {
  let current: FoundPath | undefined;
  let currentKey: string | undefined;
  for (const line of lines) {
    const { k, v } = splitSortLine<[string, string], { archive: string; e: IndexEntry }>(line);
    const [key, created] = k;
    if (key !== currentKey) {
      if (current) yield current;
      current = { path: v.e.path, ...(v.e.path_b64 ? { path_b64: v.e.path_b64 } : {}), versions: [] };
      currentKey = key;
    }
    const e = v.e;
    let version = current!.versions.find((x) => x.type === e.type && x.size === e.size && x.sha256 === e.sha256 && x.link === e.link);
    if (!version) {
      version = { type: e.type, size: e.size, sha256: e.sha256, link: e.link, archives: [] };
      current!.versions.push(version);
    }
    version.mtime = e.mtime;
    if (version.archives.at(-1)?.archive !== v.archive) version.archives.push({ archive: v.archive, created });
  }
  if (current) yield current;
}
