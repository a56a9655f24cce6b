import { describeError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { nextScheduledRun } from '../../service/schedule.js';
import { readLastRun } from '../../state/files.js';
import { readLiveLock } from '../../state/lock.js';
import type { RunAttention } from '../../state/types.js';
import { newestComplete, readCatalog } from '../../storage/catalog.js';
import { closeTargets, type Target } from '../../storage/targets.js';
import { openTarget } from '../../../adapters/index.js';
import type { CommandContext } from '../context.js';
import { table } from '../format.js';

export async function statusCommand(ctx: CommandContext): Promise<number> {
  const config = ctx.config();
  const last = await readLastRun(config.stateDir);
  const lock = await readLiveLock(config.stateDir);
  const next = nextScheduledRun(config.schedule, config.timezone);
  const opened: Target[] = [];
  const targets = [];
  try {
    for (const name of Object.keys(config.targets)) {
      const lastTarget = last?.targets.find((t) => t.target === name);
      try {
        const t = await openTarget(config, name, ctx.log);
        opened.push(t);
        const c = await readCatalog(t.adapter, config.job, { signal: ctx.signal });
        targets.push({ target: name, archives: c.complete.length, newest: newestComplete(c, new Date())?.name, last: lastTarget });
      } catch (err) {
        targets.push({ target: name, archives: undefined, error: describeError(err), last: lastTarget });
      }
    }
  } finally {
    await closeTargets(opened);
  }
  const lines = [
    `job ${config.job}`,
    `last run: ${last ? `${last.status} at ${last.ended}${last.archive ? ` (${last.archive})` : ''}${last.error ? ` — ${last.error}` : ''}` : 'never'}`,
    ...(last?.attention ? [`needs attention: ${attentionText(last.attention)}`] : []),
    `next run: ${next ? next.toISOString() : config.schedule ? 'none' : 'no schedule configured'}`,
    ...(lock ? [`running: pid ${lock.pid} on ${lock.host} since ${lock.started}`] : []),
    table(['target', 'archives', 'newest', 'last push'], targets.map((t) => [
      t.target,
      t.archives === undefined ? 'error' : String(t.archives),
      t.newest ?? (t.error ? t.error : '-'),
      t.last ? `${t.last.status}${t.last.error ?? t.last.reason ? `: ${t.last.error ?? t.last.reason}` : ''}` : '-',
    ])),
  ];
  ctx.output(lines.join('\n'), { job: config.job, last_run: last ?? null, next_run: next?.toISOString() ?? null, running: lock ?? null, targets });
  return EXIT.OK;
}

function attentionText(a: RunAttention): string {
  const parts = [];
  if (a.failedTargets.length) parts.push(`not stored on ${a.failedTargets.join(', ')}`);
  for (const p of a.failedPrunes) parts.push(`prune failed on ${p.target} (${p.error})`);
  if (a.unreadable.length) parts.push(`${a.unreadable.length} file(s) could not be read, first ${a.unreadable[0]!.path}`);
  return parts.join('; ');
}
