import type { RunAttention, RunStatus, TargetResult } from '../state/types.js';

/** What the status of a run is decided from. */
export interface RunFacts {
  /** Every selected target's push outcome, with its prune error when the prune failed. A `skipped` (optional, absent) target counts neither way. */
  targets: Pick<TargetResult, 'target' | 'status' | 'pruneError'>[];
  /** Source files that could not be read (the inventory's `unreadable`). */
  unreadable: { path: string; message: string }[];
  /** The run failed as a whole (a hook, a source, the archive stream, or the process ended with work pending). */
  failed?: boolean;
}

/**
 * The one decision behind a run's status (and so its exit code, see
 * `exitCodeForStatus`): `failure` when the run failed as a whole or no
 * target holds the archive; otherwise (skipped optional targets aside) `partial` when a target failed, a
 * prune failed or some files could not be read, with `attention` naming
 * them; otherwise `success`. Pure.
 */
export function decideRun(facts: RunFacts): { status: RunStatus; attention?: RunAttention } {
  const stored = facts.targets.filter((t) => t.status === 'success');
  if (facts.failed || stored.length === 0) return { status: 'failure' };
  const attention: RunAttention = {
    failedTargets: facts.targets.filter((t) => t.status === 'failure').map((t) => t.target),
    failedPrunes: stored.filter((t) => t.pruneError !== undefined).map((t) => ({ target: t.target, error: t.pruneError! })),
    unreadable: facts.unreadable,
  };
  const needsLook = attention.failedTargets.length + attention.failedPrunes.length + attention.unreadable.length > 0;
  return needsLook ? { status: 'partial', attention } : { status: 'success' };
}
