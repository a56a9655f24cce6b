import type { RunResult, TargetResult } from '../state/types.js';

export interface TargetHistory {
  target: string;
  /** The last push to the target (dry runs excluded), or null when it never ran. */
  last: TargetResult | null;
  /** End of the last run that stored an archive on the target, or null. */
  last_success: string | null;
}

/** Per target, its last push and its last success, from `history.jsonl` (oldest first). */
export function targetHistory(history: RunResult[], targets: string[]): TargetHistory[] {
  const out = new Map(targets.map((t) => [t, { target: t, last: null, last_success: null } as TargetHistory]));
  for (const run of history) {
    if (run.dryRun) continue;
    for (const t of run.targets) {
      const entry = out.get(t.target);
      if (!entry) continue;
      entry.last = t;
      if (t.status === 'success') entry.last_success = run.ended;
    }
  }
  return [...out.values()];
}
