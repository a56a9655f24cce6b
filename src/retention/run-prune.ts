import type { KeepPolicy } from '../config/keep.js';
import type { LoadedConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import type { Target } from '../storage/targets.js';
import { applyPrune, planTarget, type PruneFailure, type TargetPlan } from './prune.js';

/** Some deletions of a prune failed; `deleted` lists the ones that went through. */
export class PruneError extends Error {
  constructor(
    readonly deleted: string[],
    readonly failures: PruneFailure[],
  ) {
    const detail = failures.map((f) => `${f.name}: ${f.error.message}`).join('; ');
    super(`could not delete ${failures.length} object(s): ${detail}`, { cause: failures[0]?.error });
    this.name = 'PruneError';
  }
}

/**
 * Plans a configured target's retention at `now` with its `keep` and time
 * zone (the target's `timezone`, else the config's, else local time).
 * Archives named in `protect` are kept whatever the policy or clock says.
 */
export function planFor(target: Target, config: LoadedConfig, now: Date, signal?: AbortSignal, protect?: readonly string[]): Promise<TargetPlan> {
  const policy = target.config.keep as KeepPolicy;
  const timezone = (target.config.timezone as string | undefined) ?? config.timezone;
  return planTarget(target.adapter, config.job, policy, now, timezone, { signal, protect });
}

/**
 * Applies a target's retention after a successful push (`ferry run`): plans
 * with `planFor` at the current time, then prunes. `justPushed`, the archive
 * this run stored, is never deleted, even when the clock stepped back. Logs
 * each decision at debug level, each warning (foreign archives, archives
 * dated in the future) at warn level and each deletion at info level.
 *
 * Resolves with the archives deleted (in a dry run: that would be deleted).
 * Rejects with a PruneError when some deletions failed (the others still
 * happened), or with the listing's StorageError when the catalog could not
 * be read (nothing is deleted then).
 */
export async function planAndPrune(
  target: Target,
  config: LoadedConfig,
  options: { dryRun?: boolean; signal?: AbortSignal; log: Logger; now?: Date; justPushed?: string; onFreed?(bytes: number): void },
): Promise<string[]> {
  const { log, signal, dryRun = false } = options;
  const plan = await planFor(target, config, options.now ?? new Date(), signal, options.justPushed ? [options.justPushed] : undefined);
  for (const d of plan.decisions) log.debug(`${target.name}: ${d.action} ${d.name} (${d.reasons.join(', ')})`);
  for (const w of plan.warnings ?? []) log.warn(`${target.name}: ${w}`);

  const result = await applyPrune(target.adapter, config.job, plan, { dryRun, signal });
  options.onFreed?.(result.freedBytes);
  const verb = dryRun ? 'would delete' : 'deleted';
  for (const name of result.deleted) log.info(`${target.name}: ${verb} ${name}`);
  for (const name of result.orphanManifests) log.info(`${target.name}: ${verb} orphan manifest ${name}`);
  for (const name of result.abortedUploads) log.info(`${target.name}: ${dryRun ? 'would abort' : 'aborted'} the unfinished upload of ${name}, left by a run that did not finish`);
  for (const w of result.warnings) log.warn(`${target.name}: ${w}`);
  if (result.errors.length > 0) throw new PruneError(result.deleted, result.errors);
  return result.deleted;
}
