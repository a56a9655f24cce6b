import type { KeepPolicy } from '../config/keep.js';
import { isDatedInFuture, parseArchiveName } from '../storage/layout.js';
import { keepChains } from './chains.js';
import { BUCKET_UNITS, bucketLabels, type BucketLabels, type BucketUnit } from './buckets.js';

/** How long an archive without a manifest may be a push in progress before prune removes it (README: Retention). */
export const INCOMPLETE_GRACE_MS = 24 * 60 * 60 * 1000;

/** One archive as the catalog reports it (`StoredArchive` fits). */
export interface PlanArchive {
  name: string;
  created: Date;
  /** The manifest exists. */
  complete: boolean;
  /** For an incremental archive: the archive it builds on (from its manifest). */
  parent?: string;
}

export type RetentionAction = 'keep' | 'delete';

export interface RetentionDecision {
  name: string;
  created: Date;
  complete: boolean;
  action: RetentionAction;
  /**
   * Why, for humans: every rule that keeps the archive (`last 3`,
   * `daily 2026-11-20`, `oldest monthly 2026-10`, `newest complete archive`,
   * `incomplete, younger than 24h`, `dated in the future`, `pushed by this
   * run`), or why it goes (`beyond every keep rule`,
   * `incomplete for more than 24h`). Never empty.
   */
  reasons: string[];
}

export interface PlanOptions {
  /** The job whose archives these are. Entries whose name is not `<job>-<timestamp>…` are left out of the plan. */
  job: string;
  /** The reference time for the 24-hour grace of incomplete archives. */
  now: Date;
  /** IANA zone the calendar buckets are read in; undefined = the local zone. */
  timezone?: string;
  /** Archives the current run just pushed: always kept, whatever the clock says. */
  protect?: readonly string[];
}

type RuleUnit = 'last' | BucketUnit;

interface Rule {
  unit: RuleUnit;
  count: number;
  remaining: number;
  /** Bucket of the last archive this rule kept. */
  lastKey?: string;
}

/**
 * Decides, for one target, which archives to keep and which to delete.
 * Pure: no I/O, no clock (everything time-related comes from `options`).
 *
 * Complete archives go through the policy exactly as restic's
 * `forget --keep-*` does: walking newest to oldest, each rule keeps an
 * archive when it is the first one seen in a new bucket and the rule still
 * has count left, so `daily: 7` keeps the newest archive of each of the 7
 * most recent days that have one (empty days do not count). Like restic
 * (0.17 and later), a rule that still has count left when the walk reaches
 * the oldest archive keeps it too (`oldest daily …`). `keep: N` is
 * restic's `--keep-last N`. A policy whose rules are all 0 keeps everything.
 *
 * Safety rules that hold whatever the policy says:
 * - an archive dated more than an hour after `now` (clock skew, another
 *   host) is kept (`dated in the future`) and takes no part in the policy:
 *   it is neither the newest archive nor counted by any rule;
 * - the newest complete archive is always kept;
 * - an archive named in `protect` (the one this run pushed) is always kept;
 * - an incomplete archive is deleted only when it is more than 24 hours
 *   older than `now` (a younger one may be a push in progress);
 * - an entry whose name does not parse as this job's archive is not in the
 *   result at all, so it can never be deleted;
 * - every archive in the chain of a kept archive is kept (`base of <archive>`,
 *   see `keepChains`), so no incremental archive loses its parent.
 *
 * Returns one decision per archive, newest first (ties by name, descending).
 */
export function planRetention(
  archives: readonly PlanArchive[],
  policy: KeepPolicy,
  options: PlanOptions,
): RetentionDecision[] {
  const own = archives.filter((a) => parseArchiveName(a.name, options.job) !== undefined);
  const future = own.filter((a) => a.complete && isDatedInFuture(a.created, options.now));
  const complete = own.filter((a) => a.complete && !future.includes(a)).sort(newestFirst);
  const decisions: RetentionDecision[] = planComplete(complete, policy, options.timezone);
  for (const a of future) decisions.push({ ...summary(a), action: 'keep', reasons: ['dated in the future'] });

  for (const a of own) {
    if (a.complete) continue;
    const stale = options.now.getTime() - a.created.getTime() > INCOMPLETE_GRACE_MS;
    decisions.push({
      ...summary(a),
      action: stale ? 'delete' : 'keep',
      reasons: [stale ? 'incomplete for more than 24h' : 'incomplete, younger than 24h'],
    });
  }
  for (const d of decisions) {
    if (!options.protect?.includes(d.name)) continue;
    if (d.action === 'delete') d.reasons = [];
    d.action = 'keep';
    d.reasons.push('pushed by this run');
  }
  keepChains(decisions, new Map(own.flatMap((a) => (a.parent ? [[a.name, a.parent] as const] : []))));
  return decisions.sort(newestFirst);
}

/** restic's ApplyPolicy over complete archives sorted newest first. */
function planComplete(complete: readonly PlanArchive[], policy: KeepPolicy, timezone?: string): RetentionDecision[] {
  const rules = rulesOf(policy);
  if (rules.length === 0) {
    return complete.map((a, nr) => ({
      ...summary(a),
      action: 'keep',
      reasons: nr === 0 ? ['newest complete archive', 'policy is empty'] : ['policy is empty'],
    }));
  }
  const needsCalendar = rules.some((r) => r.unit !== 'last');
  const oldest = complete.length - 1;

  return complete.map((archive, nr) => {
    const reasons: string[] = nr === 0 ? ['newest complete archive'] : [];
    const labels: BucketLabels | undefined = needsCalendar ? bucketLabels(archive.created, timezone) : undefined;
    for (const rule of rules) {
      if (rule.remaining <= 0) continue;
      const key = rule.unit === 'last' ? String(nr) : labels![rule.unit];
      if (key === rule.lastKey && nr !== oldest) continue;
      const reason = rule.unit === 'last' ? `last ${rule.count}` : `${rule.unit} ${key}`;
      reasons.push(key === rule.lastKey ? `oldest ${reason}` : reason);
      rule.lastKey = key;
      rule.remaining--;
    }
    const keep = reasons.length > 0;
    return { ...summary(archive), action: keep ? 'keep' : 'delete', reasons: keep ? reasons : ['beyond every keep rule'] };
  });
}

/** The active rules of a policy, in restic's order (last, hourly, daily, weekly, monthly, yearly). */
function rulesOf(policy: KeepPolicy): Rule[] {
  const counts: Partial<Record<RuleUnit, number>> = typeof policy === 'number' ? { last: policy } : policy;
  const rules: Rule[] = [];
  for (const unit of ['last', ...BUCKET_UNITS] as const) {
    const count = counts[unit] ?? 0;
    if (count > 0) rules.push({ unit, count, remaining: count });
  }
  return rules;
}

function summary(a: PlanArchive): Pick<RetentionDecision, 'name' | 'created' | 'complete'> {
  return { name: a.name, created: a.created, complete: a.complete };
}

function newestFirst(a: { name: string; created: Date }, b: { name: string; created: Date }): number {
  return b.created.getTime() - a.created.getTime() || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0);
}
