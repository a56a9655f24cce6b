import type { LoadedConfig } from '../config/load.js';
import { sourceArchivePath } from '../config/load.js';
import type { SourceConfig, SourceKind } from '../config/sources.js';
import { sourceKindOf } from '../config/sources.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Manifest } from '../storage/manifest.js';
import { withArchive, type ArchiveQuery } from './locate.js';

/** One archive, pinned by name and target, with its manifest. */
export interface PeekedArchive {
  archive: string;
  target: string;
  manifest: Manifest;
}

/**
 * Resolves `latest` / `--at` / a name to one archive and reads its manifest,
 * without downloading the archive. Passing the returned `archive` and
 * `target` on to restoreArchive pins that exact archive, so a run finishing
 * in between cannot change what is restored.
 */
export async function peekArchive(config: LoadedConfig, query: ArchiveQuery, log: Logger, signal?: AbortSignal): Promise<PeekedArchive> {
  return withArchive(config, query, { log, signal }, async ({ target, manifest }) => ({ archive: manifest.archive, target: target.name, manifest }));
}

/** A `--source` value as stored: without trailing slashes. */
export function normalizeSourceName(as: string): string {
  return as.replace(/\/+$/, '');
}

/** The configured source stored under `as`, or undefined. */
export function findConfigSource(config: LoadedConfig, as: string): { source: SourceConfig; kind: SourceKind } | undefined {
  const source = config.sources.find((s) => sourceArchivePath(s) === as);
  return source ? { source, kind: sourceKindOf(source)! } : undefined;
}

/**
 * The manifest's summary of source `as`. Throws a UsageError
 * naming the sources the archive does hold when it has no such source.
 */
export function requireArchiveSource(peeked: PeekedArchive, as: string): Manifest['sources'][number] {
  const sources = peeked.manifest.sources ?? [];
  const found = sources.find((s) => s.as === as);
  if (!found) {
    const names = sources.map((s) => s.as).join(', ') || 'none';
    throw new UsageError(`archive ${peeked.archive} holds no source "${as}" (its sources: ${names})`);
  }
  return found;
}

/** `--only` globs selecting exactly one source's entries (a single file, or a directory and everything in it). */
export function sourceGlobs(as: string): string[] {
  const escaped = as.replace(/[\\*?[\]{}()!+@|^$]/g, (c) => `\\${c}`);
  return [escaped, `${escaped}/**`];
}
