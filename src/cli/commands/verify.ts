import { EXIT } from '../../exit-codes.js';
import { decryptKeys } from '../../restore/keys.js';
import { checkArchiveName } from '../../restore/locate.js';
import { verifyOn, type VerifyReport } from '../../restore/verify.js';
import { selectTargetNames } from '../../storage/targets.js';
import type { CommandContext } from '../context.js';
import { forEachJob } from '../each-job.js';
import { createProgress, readProgress, summaryEvent } from '../progress.js';
import { readSummary, summaryLine } from '../summary.js';

type VerifyFlags = { target?: string; all?: boolean; identity?: string[] };

/**
 * Verifies on one target, or with `all` on each, for each job (`--job`,
 * else every job); exit 0 only when every target verified, 1 when any
 * failed (the others are still reported, each under the target it failed on).
 */
export function verifyCommand(ctx: CommandContext, archive: string, opts: VerifyFlags): Promise<number> {
  return forEachJob(ctx, (c) => verifyOne(c, archive, opts));
}

async function verifyOne(ctx: CommandContext, archive: string, opts: VerifyFlags): Promise<number> {
  const config = ctx.config();
  const targets = opts.all ? selectTargetNames(config, undefined) : [opts.target];
  if (opts.target) selectTargetNames(config, [opts.target]); // an unknown --target is a usage error (exit 2)
  if (archive !== 'latest') checkArchiveName(archive, config.job); // so is a name that is not one of the job's archives
  const keys = decryptKeys(config, opts.identity); // usage errors (an empty FERRY_PASSPHRASE) are exit 2, not a failed target
  const reports: VerifyReport[] = [];
  const startedAt = Date.now();
  const counts = { bytes: 0, files: 0, content: 0 };
  for (const t of targets) {
    const progress = createProgress(ctx, targets.length > 1 ? `verify ${t}` : 'verify');
    const reading = readProgress(progress);
    const report = await verifyOn(config, archive, t, { keys, log: ctx.log, signal: ctx.signal, progress: reading });
    progress.finish(report.ok);
    reports.push(report);
    counts.bytes += reading.counts.bytes;
    counts.files += reading.counts.files;
    counts.content += reading.counts.content;
  }
  const summary = readSummary(counts, startedAt);
  summaryEvent(ctx, 'verify', reports.every((r) => r.ok), summary);
  const human = reports.map((r) => r.ok
    ? `${r.target}: ok ${r.archive}${r.contentsRead === false ? ' (sha256 only; encrypted, no identity)' : ` (${r.files} files)`}`
    : `${r.target}: FAILED: ${r.error}`).join('\n');
  ctx.output(`${human}\n${summaryLine(summary)}`, { job: config.job, reports, summary });
  // Exit 3 means "stored, but look at this" for runs; for verify, an archive that fails on any target is a failure.
  return reports.every((r) => r.ok) ? EXIT.OK : EXIT.FAILURE;
}
