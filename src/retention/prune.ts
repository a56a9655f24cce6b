import type { KeepPolicy } from '../config/keep.js';
import type { OpOptions, StorageAdapter } from '../storage/adapter.js';
import { catalogWarnings, readCatalog } from '../storage/catalog.js';
import { abortedError } from '../storage/errors.js';
import { MANIFEST_SUFFIX, manifestKey, parseArchiveName } from '../storage/layout.js';
import { planRetention, type RetentionDecision } from './plan.js';
import { indexKey } from '../index/format.js';

/** A target's retention plan: one decision per archive, plus manifests whose archive is gone. */
export interface TargetPlan {
  /** Newest first, as `planRetention` returns them. */
  decisions: RetentionDecision[];
  /** Manifests of this job without their archive; prune removes them. */
  orphanManifests: string[];
  /** Foreign archives and archives dated in the future, one line each (see `catalogWarnings`). */
  warnings?: string[];
}

export interface PruneOptions {
  /** Delete nothing; the result lists what would have been deleted. */
  dryRun?: boolean;
  /** Checked before each archive; an archive whose file is already gone still gets its manifest removed. */
  signal?: AbortSignal;
  /** The time unfinished uploads are aged against (default: now). */
  now?: Date;
}

export interface PruneFailure {
  /** The archive (or orphan manifest) that could not be removed. */
  name: string;
  error: Error;
}

export interface PruneResult {
  dryRun: boolean;
  /** Archives removed together with their manifest, newest first. In a dry run: the ones that would be. */
  deleted: string[];
  /** Orphan manifests removed. In a dry run: the ones that would be. */
  orphanManifests: string[];
  /** One entry per removal that failed; a failure never stops the others. */
  errors: PruneFailure[];
  /** Unfinished uploads of this job's archives, older than 24 hours, that were aborted (in a dry run: would be). */
  abortedUploads: string[];
  /** What could not be cleaned up but does not fail the prune (a server without multipart listing, ...). */
  warnings: string[];
}

/** Unfinished uploads younger than this may belong to a run still in progress. */
const UNFINISHED_MAX_AGE_MS = 24 * 3600 * 1000;

/**
 * Reads the target's catalog and plans retention for it. The catalog only
 * holds this job's archives, and the planner checks names again. Foreign
 * archives (a manifest not bound to them) are left out of the plan, so they
 * are never deleted; `warnings` reports them and archives dated in the
 * future. `options.protect` names archives that must be kept (this run's).
 */
export async function planTarget(
  adapter: StorageAdapter,
  job: string,
  policy: KeepPolicy,
  now: Date,
  timezone?: string,
  options?: OpOptions & { protect?: readonly string[] },
): Promise<TargetPlan> {
  const catalog = await readCatalog(adapter, job, options);
  const decisions = planRetention([...catalog.complete, ...catalog.incomplete], policy, { job, now, timezone, protect: options?.protect });
  return { decisions, orphanManifests: [...catalog.orphanManifests], warnings: catalogWarnings(catalog, now) };
}

/**
 * Carries out a plan on one target.
 *
 * For each `delete` decision the archive is removed first, then its index
 * sidecar, and its manifest last, so an interruption leaves at worst a manifest without an archive
 * (which lists as nothing and is removed next time), never a
 * complete-looking archive with missing bytes. When the archive cannot be
 * removed its manifest stays. Orphan manifests are removed afterwards.
 *
 * Only names that parse as this job's `<job>-<timestamp>…` are ever passed
 * to `remove`; anything else in the plan is skipped. Removal is idempotent,
 * so running the same plan twice is harmless. Rejects only when `signal` is
 * aborted (with an ABORTED StorageError); per-object failures are reported
 * in `errors`.
 */
export async function applyPrune(
  adapter: StorageAdapter,
  job: string,
  plan: TargetPlan,
  options: PruneOptions = {},
): Promise<PruneResult> {
  const { signal, dryRun = false } = options;
  const result: PruneResult = { dryRun, deleted: [], orphanManifests: [], errors: [], abortedUploads: [], warnings: [] };

  for (const decision of plan.decisions) {
    if (decision.action !== 'delete' || !parseArchiveName(decision.name, job)) continue;
    if (signal?.aborted) throw abortedError(adapter.name, signal);
    if (dryRun) {
      result.deleted.push(decision.name);
      continue;
    }
    try {
      await adapter.remove(decision.name, { signal });
    } catch (err) {
      if (signal?.aborted) throw abortedError(adapter.name, signal);
      result.errors.push({ name: decision.name, error: asError(err) });
      continue;
    }
    try {
      // No signal: once the archive is gone, its index sidecar and manifest must follow.
      await adapter.remove(indexKey(decision.name));
      await adapter.remove(manifestKey(decision.name));
      result.deleted.push(decision.name);
    } catch (err) {
      result.errors.push({ name: `${indexKey(decision.name)} / ${manifestKey(decision.name)}`, error: asError(err) });
    }
  }

  for (const manifest of plan.orphanManifests) {
    if (!isOwnManifest(manifest, job)) continue;
    if (signal?.aborted) throw abortedError(adapter.name, signal);
    if (dryRun) {
      result.orphanManifests.push(manifest);
      continue;
    }
    try {
      await adapter.remove(indexKey(manifest.slice(0, -MANIFEST_SUFFIX.length)), { signal });
      await adapter.remove(manifest, { signal });
      result.orphanManifests.push(manifest);
    } catch (err) {
      if (signal?.aborted) throw abortedError(adapter.name, signal);
      result.errors.push({ name: manifest, error: asError(err) });
    }
  }
  await sweepUnfinished(adapter, job, result, options);
  return result;
}

/**
 * Aborts the unfinished uploads a killed run left behind: only those named
 * like one of this job's archives (or their manifests) and started more than
 * 24 hours before `now`. A backend that cannot list or abort them is a
 * warning, never a failed prune.
 */
async function sweepUnfinished(adapter: StorageAdapter, job: string, result: PruneResult, options: PruneOptions): Promise<void> {
  if (!adapter.listUnfinished || !adapter.abortUnfinished) return;
  const { signal, dryRun = false } = options;
  const cutoff = (options.now ?? new Date()).getTime() - UNFINISHED_MAX_AGE_MS;
  let uploads;
  try {
    uploads = await adapter.listUnfinished(`${job}-`, { signal });
  } catch (err) {
    if (signal?.aborted) throw abortedError(adapter.name, signal);
    result.warnings.push(`could not list unfinished uploads, so none were aborted: ${asError(err).message}`);
    return;
  }
  if (uploads === undefined) {
    result.warnings.push('the server cannot list unfinished uploads; parts left by a killed run cannot be cleaned up by Ferry');
    return;
  }
  for (const upload of uploads) {
    const name = upload.key.endsWith(MANIFEST_SUFFIX) ? upload.key.slice(0, -MANIFEST_SUFFIX.length) : upload.key;
    if (!parseArchiveName(name, job) || upload.started.getTime() >= cutoff) continue;
    if (signal?.aborted) throw abortedError(adapter.name, signal);
    if (dryRun) {
      result.abortedUploads.push(upload.key);
      continue;
    }
    try {
      await adapter.abortUnfinished(upload, { signal });
      result.abortedUploads.push(upload.key);
    } catch (err) {
      if (signal?.aborted) throw abortedError(adapter.name, signal);
      result.warnings.push(`could not abort the unfinished upload of ${upload.key} (started ${upload.started.toISOString()}): ${asError(err).message}`);
    }
  }
}

function isOwnManifest(key: string, job: string): boolean {
  return key.endsWith(MANIFEST_SUFFIX) && parseArchiveName(key.slice(0, -MANIFEST_SUFFIX.length), job) !== undefined;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
