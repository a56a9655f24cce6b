import type { RetentionDecision } from './plan.js';

/**
 * Keeps every archive in the chain of a kept archive (pure): walking each
 * kept archive's `parent` links, an archive about to be deleted is kept
 * instead, with the reason `base of <archive>` (the kept archive whose
 * chain needs it). So prune never leaves an incremental archive without its
 * parent. Parents that are not in `decisions` (not on this target) are
 * skipped; a cycle cannot loop.
 */
export function keepChains(decisions: RetentionDecision[], parentOf: ReadonlyMap<string, string>): void {
  const byName = new Map(decisions.map((d) => [d.name, d]));
  for (const d of decisions) {
    if (d.action !== 'keep' || d.reasons.every((r) => r.startsWith('base of '))) continue;
    const seen = new Set([d.name]);
    for (let p = parentOf.get(d.name); p !== undefined && !seen.has(p); p = parentOf.get(p)) {
      seen.add(p);
      const base = byName.get(p);
      if (!base) continue;
      if (base.action === 'delete') {
        base.action = 'keep';
        base.reasons = [];
      }
      const reason = `base of ${d.name}`;
      if (!base.reasons.includes(reason)) base.reasons.push(reason);
    }
  }
}
