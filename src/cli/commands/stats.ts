import { targetStats } from '../../index/stats.js';
import { EXIT } from '../../exit-codes.js';
import type { CommandContext } from '../context.js';
import { formatBytes, table } from '../format.js';

/** `ferry stats [-t T]...`: per target, archive count, stored bytes and each archive's size over time. Exit 1 when a target could not be read. */
export async function statsCommand(ctx: CommandContext, opts: { target?: string[] }): Promise<number> {
  const config = ctx.config();
  const targets = await targetStats(config, opts.target, { log: ctx.log, signal: ctx.signal });
  const human = targets.map((t) => {
    if (t.error) return `${t.target}: error: ${t.error}`;
    const widest = Math.max(1, ...t.history.map((h) => h.size));
    const rows = t.history.map((h) => [h.created, h.archive, formatBytes(h.size), String(h.files), formatBytes(h.source_bytes), '#'.repeat(Math.max(1, Math.round((h.size / widest) * 30)))]);
    const body = rows.length ? table(['created', 'archive', 'stored', 'files', 'data', ''], rows).replace(/^/gm, '  ') : '  (no archives)';
    return `${t.target}: ${t.archives} archives, ${formatBytes(t.stored_bytes)} stored\n${body}`;
  }).join('\n\n');
  ctx.output(human, { job: config.job, targets });
  return targets.some((t) => t.error) ? EXIT.FAILURE : EXIT.OK;
}
