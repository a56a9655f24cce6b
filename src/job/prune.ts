import type { LoadedConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { applyPrune } from '../retention/prune.js';
import { planFor } from '../retention/run-prune.js';
import { acquireLock, type Lock } from '../state/lock.js';
import { closeTargets, type Target } from '../storage/targets.js';
import { openTarget } from '../../adapters/index.js';

/** What a prune did (or, dry, would do) on one target; `error` alone when the target could not be pruned at all. */
export type PruneTargetReport = {
  target: string;
  dryRun: boolean;
  /** Every archive with its decision and the reasons, newest first. */
  plan: { name: string; action: 'keep' | 'delete'; complete: boolean; reasons: string[] }[];
  deleted: string[];
  /** Stored bytes of the archives deleted (in a dry run: that would be). */
  freedBytes: number;
  orphanManifests: string[];
  abortedUploads: string[];
  warnings: string[];
  errors: { name: string; error: string }[];
} | { target: string; error: string } | { target: string; skipped: string };

/** The prune report `ferry prune` prints and `POST /api/prune` answers. */
export interface PruneReport {
  job: string;
  dryRun: boolean;
  targets: PruneTargetReport[];
  /** True when a target could not be pruned or a deletion failed. */
  failed: boolean;
  /** Stored bytes freed on every target together. */
  freedBytes: number;
}

/**
 * Applies each named target's retention in turn (with `dryRun`, only plans
 * it), as `ferry prune` and the API do. A real prune holds the job's lock,
 * as `run` does: when another run holds it, this rejects with a
 * LockHeldError before anything is deleted; a dry run takes no lock. A
 * target that fails is reported in its entry and the others still run; an
 * absent optional target (an unplugged drive) is reported as skipped.
 */
export async function pruneJob(config: LoadedConfig, names: string[], options: { dryRun?: boolean; log: Logger; signal?: AbortSignal }): Promise<PruneReport> {
  const dryRun = Boolean(options.dryRun);
  const lock: Lock | undefined = dryRun ? undefined : await acquireLock(config.stateDir, config.job, options.log);
  const opened: Target[] = [];
  const targets: PruneTargetReport[] = [];
  try {
    for (const name of names) {
      try {
        const t = await openTarget(config, name, options.log);
        opened.push(t);
        const absent = await t.adapter.absent?.({ signal: options.signal });
        if (absent !== undefined) {
          targets.push({ target: name, skipped: absent });
          continue;
        }
        const plan = await planFor(t, config, new Date(), options.signal);
        const result = await applyPrune(t.adapter, config.job, plan, { dryRun, signal: options.signal });
        targets.push({
          target: name,
          dryRun,
          plan: plan.decisions.map((d) => ({ name: d.name, action: d.action, complete: d.complete, reasons: d.reasons })),
          deleted: result.deleted,
          freedBytes: result.freedBytes,
          orphanManifests: result.orphanManifests,
          abortedUploads: result.abortedUploads,
          warnings: [...(plan.warnings ?? []), ...result.warnings],
          errors: result.errors.map((e) => ({ name: e.name, error: e.error.message })),
        });
      } catch (err) {
        targets.push({ target: name, error: describeError(err) });
      }
    }
  } finally {
    await closeTargets(opened);
    await lock?.release();
  }
  const failed = targets.some((r) => 'error' in r || ('errors' in r && r.errors.length > 0));
  const freedBytes = targets.reduce((n, r) => n + ('freedBytes' in r ? r.freedBytes : 0), 0);
  return { job: config.job, dryRun, targets, failed, freedBytes };
}
