import { runJob } from '../../job/run.js';
import { exitCodeForStatus } from '../../exit-codes.js';
import { notifyRun } from '../../service/notify/index.js';
import type { RunResult } from '../../state/types.js';
import type { CommandContext } from '../context.js';
import { formatBytes, table } from '../format.js';
import { createProgress } from '../progress.js';

export async function runCommand(ctx: CommandContext, opts: { target?: string[]; description?: string; dryRun?: boolean }): Promise<number> {
  const config = ctx.config();
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
    t.error ?? t.reason ?? (t.pruneError ? `prune failed: ${t.pruneError}` : t.pruned?.length ? `pruned ${t.pruned.length}` : ''),
  ]);
  const lines = [head];
  if (rows.length) lines.push(table(['target', 'status', 'bytes', 'time', 'note'], rows));
  if (r.error && !r.targets.length) lines.push(`error: ${r.error}`);
  for (const u of r.attention?.unreadable ?? []) lines.push(`not stored (unreadable): ${u.path}: ${u.message}`);
  if (r.warnings.length) lines.push(`${r.warnings.length} warning(s); see the archive's inventory`);
  return lines.join('\n');
}
