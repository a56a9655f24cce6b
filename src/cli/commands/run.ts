import { runJob } from '../../job/run.js';
import { exitCodeForStatus } from '../../exit-codes.js';
import { notifyRun, notifyStart } from '../../service/notify/index.js';
import type { RunResult } from '../../state/types.js';
import type { CommandContext } from '../context.js';
import { forEachJob } from '../each-job.js';
import { formatBytes, table } from '../format.js';
import { createProgress } from '../progress.js';

type RunFlags = { target?: string[]; description?: string; dryRun?: boolean };

/**
 * `ferry run`: one run of each job (`--job`, else every job of a config
 * directory, one after another, each under its own lock). Every real run
 * sends the healthchecks start ping first, so a run a systemd timer starts
 * reports like one the daemon starts.
 */
export function runCommand(ctx: CommandContext, opts: RunFlags): Promise<number> {
  return forEachJob(ctx, (c) => runOne(c, opts));
}

async function runOne(ctx: CommandContext, opts: RunFlags): Promise<number> {
  const config = ctx.config();
  if (!opts.dryRun) await notifyStart(config, ctx.log);
  const progress = createProgress(ctx, Object.keys(config.targets).filter((t) => !opts.target?.length || opts.target.includes(t)));
  let result: RunResult;
  try {
    result = await runJob(config, {
      targets: opts.target,
      description: opts.description,
      dryRun: opts.dryRun,
      log: ctx.log,
      signal: ctx.signal,
      onProgress: (e) => progress.update(e),
    });
  } finally {
    progress.stop();
  }
  await notifyRun(config, result, ctx.log);
  ctx.output(renderRun(result), result);
  return exitCodeForStatus(result.status);
}

function renderRun(r: RunResult): string {
  const head = `${r.dryRun ? '[dry run] ' : ''}${r.status}: ${r.archive ?? '(no archive)'}${r.size !== undefined ? ` (${formatBytes(r.size)})` : ''}`;
  const rows = r.targets.map((t) => [
    t.target,
    t.status,
    t.status === 'success' ? formatBytes(t.bytes) : '',
    `${(t.durationMs / 1000).toFixed(1)}s`,
    t.error ?? (t.pruneError ? `prune failed: ${t.pruneError}` : t.pruned?.length ? `pruned ${t.pruned.length}` : ''),
  ]);
  const lines = [head];
  if (rows.length) lines.push(table(['target', 'status', 'bytes', 'time', 'note'], rows));
  if (r.error && !r.targets.length) lines.push(`error: ${r.error}`);
  for (const u of r.attention?.unreadable ?? []) lines.push(`not stored (unreadable): ${u.path}: ${u.message}`);
  if (r.warnings.length) lines.push(`${r.warnings.length} warning(s); see the archive's inventory`);
  return lines.join('\n');
}
