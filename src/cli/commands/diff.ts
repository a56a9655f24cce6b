import { diffArchives, type DiffItem } from '../../index/diff.js';
import { shownPath } from '../../index/format.js';
import { decryptKeys } from '../../restore/keys.js';
import { EXIT } from '../../exit-codes.js';
import type { CommandContext } from '../context.js';
import { streamedOutput } from '../streamed.js';
import { printable } from './ls.js';

/**
 * `ferry diff A B [--from T]`: what B holds that A does not (`+`), what it
 * no longer holds (`-`), data that changed (`M`) and metadata only (`U`:
 * mode or mtime), in path order.
 */
export async function diffCommand(ctx: CommandContext, a: string, b: string, opts: { from?: string; identity?: string[] }): Promise<number> {
  const config = ctx.config();
  const out = streamedOutput(Boolean(ctx.options.json), 'changes');
  const summary = await diffArchives(
    config,
    { which: a, from: opts.from },
    { which: b, from: opts.from },
    { keys: decryptKeys(config, opts.identity), log: ctx.log, signal: ctx.signal },
    (item) => out.item(item, itemLine(item)),
  );
  out.end({ ...summary }, `${summary.from.archive} -> ${summary.to.archive}: ${summary.added} added, ${summary.removed} removed, ${summary.changed} changed`);
  return EXIT.OK;
}

function itemLine(item: DiffItem): string {
  if (item.change === 'added') return `+ ${printable(shownPath(item.entry))}`;
  if (item.change === 'removed') return `- ${printable(shownPath(item.entry))}`;
  const data = item.what.some((w) => w === 'content' || w === 'type' || w === 'link');
  return `${data ? 'M' : 'U'} ${printable(shownPath(item.to))}  (${item.what.join(', ')})`;
}
