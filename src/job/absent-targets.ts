import type { Logger } from '../log.js';
import type { TargetResult } from '../state/types.js';
import type { Target } from '../storage/targets.js';

/**
 * Splits the run's targets into those to push to and those that are absent
 * (an optional target whose drive is not plugged in, see
 * `StorageAdapter.absent`). Absent targets get a `skipped` result with the
 * reason, and a log line; they are never pushed to nor pruned.
 */
export async function setAsideAbsent(targets: Target[], log: Logger, signal?: AbortSignal): Promise<{ present: Target[]; skipped: TargetResult[] }> {
  const present: Target[] = [];
  const skipped: TargetResult[] = [];
  for (const t of targets) {
    const reason = await t.adapter.absent?.({ signal });
    if (reason === undefined) {
      present.push(t);
      continue;
    }
    log.info(`${t.name}: skipped (optional target): ${reason}`);
    skipped.push({ target: t.name, status: 'skipped', bytes: 0, durationMs: 0, reason });
  }
  return { present, skipped };
}

/** Orders results as the targets are ordered in the config. */
export function inTargetOrder(results: TargetResult[], targets: Target[]): TargetResult[] {
  const rank = new Map(targets.map((t, i) => [t.name, i]));
  return [...results].sort((a, b) => (rank.get(a.target) ?? 0) - (rank.get(b.target) ?? 0));
}
