import { UsageError } from '../../errors.js';
import { runJob } from '../../job/run.js';
import { exitCodeForStatus } from '../../exit-codes.js';
import { notifyRun, notifyStart } from '../../service/notify/index.js';
import type { RunResult } from '../../state/types.js';
import type { CommandContext } from '../context.js';
import { forEachJob } from '../each-job.js';
import { entryLister } from '../entry-list.js';
import { formatBytes, table } from '../format.js';
import { createProgress, summaryEvent } from '../progress.js';
import { makeSummary, summaryLine } from '../summary.js';

type RunFlags = { target?: string[]; description?: string; dryRun?: boolean; list?: boolean };

/**
 * `ferry run`: one run of each job (`--job`, else every job of a config
 * directory, one after another, each under its own lock). Every real run
 * sends the healthchecks start ping first, so a run a systemd timer starts
 * reports like one the daemon starts.
 */
export function runCommand(ctx: CommandContext, opts: RunFlags): Promise<number> {
  if (opts.list && !opts.dryRun) throw new UsageError('--list needs --dry-run: it shows what a run would store');
  if (opts.list && ctx.options.json) throw new UsageError('--list prints one path per line; it cannot be combined with --json');
  return forEachJob(ctx, (c) => runOne(c, opts));
}

async function runOne(ctx: CommandContext, opts: RunFlags): Promise<number> {
  const config = ctx.config();
  if (!opts.dryRun) await notifyStart(config, ctx.log);
  const startedAt = Date.now();
  const progress = createProgress(ctx, 'run');
  const done = { read: 0, files: 0 };
  let result: RunResult;
  try {
    result = await runJob(config, {
      targets: opts.target,
      description: opts.description,
      dryRun: opts.dryRun,
      log: ctx.log,
      signal: ctx.signal,
      onProgress: (e) => {
        if (e.kind !== 'archive') return;
        if (done.read === 0 && done.files === 0) progress.start({ bytes: e.total, files: e.totalFiles });
        done.read = e.read;
        done.files = e.files ?? done.files;
        progress.update({ bytes: e.read, files: e.files });
      },
      onEntry: opts.list ? entryLister(process.stdout) : undefined,
    });
  } catch (err) {
    progress.finish(false);
    throw err;
  }
  const summary = makeSummary({
    files: done.files, read: done.read, content: done.read, stored: result.size ?? 0, startedAt,
    freed: result.targets.reduce((n, t) => n + (t.prunedBytes ?? 0), 0),
  });
  progress.finish(result.status !== 'failure');
  summaryEvent(ctx, 'run', result.status !== 'failure', summary);
  await notifyRun(config, result, ctx.log);
  ctx.output(`${renderRun(result)}\n${summaryLine(summary)}`, { ...result, summary });
  return exitCodeForStatus(result.status);
}

function renderRun(r: RunResult): string {
  const head = `${r.dryRun ? '[dry run] ' : ''}${r.status}: ${r.archive ?? '(no archive)'}${r.size !== undefined ? ` (${formatBytes(r.size)})` : ''}`;
  const rows = r.targets.map((t) => [
    t.target,
    t.status,
    t.status === 'success' ? formatBytes(t.bytes) : '',
    `${(t.durationMs / 1000).toFixed(1)}s`,
    t.error ?? t.reason ?? (t.pruneError ? `prune failed: ${t.pruneError}` : t.pruned?.length ? `pruned ${t.pruned.length}` : ''),
  ]);
  const lines = [head];
  if (rows.length) lines.push(table(['target', 'status', 'bytes', 'time', 'note'], rows));
  if (r.error && !r.targets.length) lines.push(`error: ${r.error}`);
  for (const u of r.attention?.unreadable ?? []) lines.push(`not stored (unreadable): ${u.path}: ${u.message}`);
  if (r.warnings.length) lines.push(`${r.warnings.length} warning(s); see the archive's inventory`);
  return lines.join('\n');
}
