import { EXIT } from '../../exit-codes.js';
import { listTarget, type TargetListing } from '../../storage/catalog.js';
import { closeTargets, selectTargetNames, type Target } from '../../storage/targets.js';
import { openTarget } from '../../../adapters/index.js';
import type { CommandContext } from '../context.js';
import { forEachJob } from '../each-job.js';
import { formatBytes, table } from '../format.js';

/**
 * Complete archives per target, oldest first. Archives dated in the future and
 * foreign archives (a manifest not bound to them) are listed under a warning.
 * A target that cannot be read is reported and makes the exit code 1.
 */
export function listCommand(ctx: CommandContext, opts: { target?: string[] }): Promise<number> {
  return forEachJob(ctx, (c) => listOne(c, opts));
}

async function listOne(ctx: CommandContext, opts: { target?: string[] }): Promise<number> {
  const config = ctx.config();
  const targets: Target[] = [];
  const listings: TargetListing[] = [];
  try {
    for (const name of selectTargetNames(config, opts.target)) {
      listings.push(await listTarget(name, config.job, async (read) => {
        const t = await openTarget(config, name, ctx.log);
        targets.push(t);
        return read(t.adapter);
      }, { signal: ctx.signal }));
    }
  } finally {
    await closeTargets(targets);
  }
  const human = listings.map((l) => {
    if (l.error) return `${l.target}: error: ${l.error}`;
    const chained = l.archives.some((a) => a.level !== undefined);
    const rows = l.archives.map((a) => [a.name, formatBytes(a.size), a.created, a.encrypted ? 'yes' : 'no', ...(chained ? [String(a.level ?? 0), a.parent ?? '-'] : [])]);
    const body = rows.length ? table(['archive', 'size', 'created', 'encrypted', ...(chained ? ['level', 'parent'] : [])], rows) : '(no archives)';
    const warnings = l.warnings.map((w) => `\n  warning: ${w}`).join('');
    return `${l.target}:\n${body.replace(/^/gm, '  ')}${warnings}`;
  }).join('\n\n');
  ctx.output(human, { job: config.job, targets: listings });
  return listings.some((l) => l.error) ? EXIT.FAILURE : EXIT.OK;
}
