import { describeError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { applyPrune } from '../../retention/prune.js';
import { planFor } from '../../retention/run-prune.js';
import { acquireLock, type Lock } from '../../state/lock.js';
import { closeTargets, selectTargetNames, type Target } from '../../storage/targets.js';
import { openTarget } from '../../../adapters/index.js';
import type { CommandContext } from '../context.js';
import { table } from '../format.js';

/**
 * Applies each target's retention (or, with --dry-run, prints the plan),
 * giving a reason for every archive. A real prune holds the job's lock, as
 * `run` does: when another run holds it, this throws exit 75 before
 * anything is deleted. A dry run deletes nothing and takes no lock. An
 * absent optional target (an unplugged drive) is reported as skipped.
 */
export async function pruneCommand(ctx: CommandContext, opts: { target?: string[]; dryRun?: boolean }): Promise<number> {
  const config = ctx.config();
  const names = selectTargetNames(config, opts.target);
  const lock: Lock | undefined = opts.dryRun ? undefined : await acquireLock(config.stateDir, config.job, ctx.log);
  const opened: Target[] = [];
  const reports = [];
  let failed = false;
  try {
    for (const name of names) {
      try {
        const t = await openTarget(config, name, ctx.log);
        opened.push(t);
        const absent = await t.adapter.absent?.({ signal: ctx.signal });
        if (absent !== undefined) {
          reports.push({ target: name, skipped: absent });
          continue;
        }
        const plan = await planFor(t, config, new Date(), ctx.signal);
        const result = await applyPrune(t.adapter, config.job, plan, { dryRun: opts.dryRun, signal: ctx.signal });
        const errors = result.errors.map((e) => ({ name: e.name, error: e.error.message }));
        if (errors.length) failed = true;
        reports.push({
          target: name,
          dry_run: Boolean(opts.dryRun),
          plan: plan.decisions.map((d) => ({ name: d.name, action: d.action, complete: d.complete, reasons: d.reasons })),
          deleted: result.deleted,
          orphan_manifests: result.orphanManifests,
          aborted_uploads: result.abortedUploads,
          warnings: [...(plan.warnings ?? []), ...result.warnings],
          errors,
        });
      } catch (err) {
        failed = true;
        reports.push({ target: name, error: describeError(err) });
      }
    }
  } finally {
    await closeTargets(opened);
    await lock?.release();
  }
  const human = reports.map((r) => {
    if ('skipped' in r) return `${r.target}: skipped (optional target): ${r.skipped}`;
    if ('error' in r) return `${r.target}: error: ${r.error}`;
    const rows = r.plan.map((d) => [d.action === 'keep' ? 'keep' : opts.dryRun ? 'would delete' : 'delete', d.name, d.reasons.join('; ')]);
    const errs = r.errors.map((e) => `  failed to delete ${e.name}: ${e.error}`);
    const warnings = r.warnings.map((w) => `  warning: ${w}`);
    const aborted = r.aborted_uploads.map((k) => `  ${opts.dryRun ? 'would abort' : 'aborted'} the unfinished upload of ${k}`);
    return [`${r.target}${opts.dryRun ? ' (dry run)' : ''}:`, rows.length ? table(['action', 'archive', 'reason'], rows).replace(/^/gm, '  ') : '  (no archives)', ...aborted, ...warnings, ...errs].join('\n');
  }).join('\n\n');
  ctx.output(human, { job: config.job, targets: reports });
  return failed ? EXIT.FAILURE : EXIT.OK;
}
