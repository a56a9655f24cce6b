import { describeError, EXIT } from '../../errors.js';
import { readCatalog } from '../../storage/catalog.js';
import { closeTargets, openTarget, selectTargetNames, type Target } from '../../storage/targets.js';
import type { CommandContext } from '../context.js';
import { formatBytes, table } from '../format.js';

interface TargetListing {
  target: string;
  archives: { name: string; size: number; created: string; encrypted: boolean }[];
  incomplete: number;
  error?: string;
}

/** Complete archives per target, oldest first. A target that cannot be read is reported and makes the exit code 1. */
export async function listCommand(ctx: CommandContext, opts: { target?: string[] }): Promise<number> {
  const config = ctx.config();
  const targets: Target[] = [];
  const listings: TargetListing[] = [];
  try {
    for (const name of selectTargetNames(config, opts.target)) {
      try {
        const t = await openTarget(config, name, ctx.log);
        targets.push(t);
        const c = await readCatalog(t.adapter, config.job, { signal: ctx.signal });
        listings.push({
          target: name,
          archives: c.complete.map((a) => ({ name: a.name, size: a.size, created: a.created.toISOString(), encrypted: a.encrypted })),
          incomplete: c.incomplete.length,
        });
      } catch (err) {
        listings.push({ target: name, archives: [], incomplete: 0, error: describeError(err) });
      }
    }
  } finally {
    await closeTargets(targets);
  }
  const human = listings.map((l) => {
    if (l.error) return `${l.target}: error: ${l.error}`;
    const rows = l.archives.map((a) => [a.name, formatBytes(a.size), a.created, a.encrypted ? 'yes' : 'no']);
    const body = rows.length ? table(['archive', 'size', 'created', 'encrypted'], rows) : '(no archives)';
    return `${l.target}:\n${body.replace(/^/gm, '  ')}`;
  }).join('\n\n');
  ctx.output(human, { job: config.job, targets: listings });
  return listings.some((l) => l.error) ? EXIT.FAILURE : EXIT.OK;
}
