import { EXIT } from '../../exit-codes.js';
import { pruneJob } from '../../job/prune.js';
import { selectTargetNames } from '../../storage/targets.js';
import type { CommandContext } from '../context.js';
import { forEachJob } from '../each-job.js';
import { table } from '../format.js';
import { summaryEvent } from '../progress.js';
import { makeSummary, summaryLine } from '../summary.js';

/**
 * Applies each target's retention (or, with --dry-run, prints the plan),
 * giving a reason for every archive. A real prune holds the job's lock, as
 * `run` does: when another run holds it, this throws exit 75 before
 * anything is deleted. A dry run deletes nothing and takes no lock. An
 * absent optional target (an unplugged drive) is reported as skipped.
 */
export function pruneCommand(ctx: CommandContext, opts: { target?: string[]; dryRun?: boolean }): Promise<number> {
  return forEachJob(ctx, (c) => pruneOne(c, opts));
}

async function pruneOne(ctx: CommandContext, opts: { target?: string[]; dryRun?: boolean }): Promise<number> {
  const config = ctx.config();
  const startedAt = Date.now();
  const report = await pruneJob(config, selectTargetNames(config, opts.target), { dryRun: opts.dryRun, log: ctx.log, signal: ctx.signal });
  const reports = report.targets;
  const human = reports.map((r) => {
    if ('skipped' in r) return `${r.target}: skipped (optional target): ${r.skipped}`;
    if ('error' in r) return `${r.target}: error: ${r.error}`;
    const rows = r.plan.map((d) => [d.action === 'keep' ? 'keep' : opts.dryRun ? 'would delete' : 'delete', d.name, d.reasons.join('; ')]);
    const errs = r.errors.map((e) => `  failed to delete ${e.name}: ${e.error}`);
    const warnings = r.warnings.map((w) => `  warning: ${w}`);
    const aborted = r.abortedUploads.map((k) => `  ${opts.dryRun ? 'would abort' : 'aborted'} the unfinished upload of ${k}`);
    return [`${r.target}${opts.dryRun ? ' (dry run)' : ''}:`, rows.length ? table(['action', 'archive', 'reason'], rows).replace(/^/gm, '  ') : '  (no archives)', ...aborted, ...warnings, ...errs].join('\n');
  }).join('\n\n');
  const { failed, ...json } = report;
  const summary = makeSummary({ files: 0, read: 0, stored: 0, content: 0, startedAt, freed: report.freedBytes });
  summaryEvent(ctx, 'prune', !failed, summary);
  ctx.output(`${human}\n${summaryLine(summary)}`, { ...json, summary });
  return failed ? EXIT.FAILURE : EXIT.OK;
}
