import { findInArchives, type FoundPath } from '../../index/find.js';
import { decryptKeys } from '../../restore/keys.js';
import { EXIT } from '../../exit-codes.js';
import type { CommandContext } from '../context.js';
import { formatBytes } from '../format.js';
import { streamedOutput } from '../streamed.js';
import { printable } from './ls.js';

/**
 * `ferry find GLOB [-t T]`: every path matching GLOB in every complete
 * archive of one target (default: the first), each version with the
 * archives holding it. Exit 1 when an archive could not be searched.
 */
export async function findCommand(ctx: CommandContext, pattern: string, opts: { target?: string; identity?: string[] }): Promise<number> {
  const config = ctx.config();
  const out = streamedOutput(Boolean(ctx.options.json), 'matches');
  const summary = await findInArchives(
    config,
    { pattern, target: opts.target },
    { keys: decryptKeys(config, opts.identity), log: ctx.log, signal: ctx.signal },
    (found) => out.item(found, foundText(found)),
  );
  const errors = summary.errors.map((e) => `\nerror: ${e.archive}: ${e.error}`).join('');
  out.end({ ...summary }, `${summary.paths} paths matching ${JSON.stringify(pattern)} in ${summary.archives} archives on ${summary.target}${errors}`);
  return summary.errors.length ? EXIT.FAILURE : EXIT.OK;
}

/** A path, then one line per version: what it is, and where and when it is stored. */
function foundText(found: FoundPath): string {
  const lines = [printable(found.path)];
  for (const v of found.versions) {
    const what = v.type === 'file' ? `${formatBytes(v.size)} sha256 ${v.sha256?.slice(0, 12)}` : v.type === 'symlink' ? `symlink -> ${printable(v.link ?? '')}` : v.type;
    const first = v.archives[0]!;
    const last = v.archives.at(-1)!;
    const where = v.archives.length === 1
      ? `in ${first.archive} (${first.created})`
      : `in ${v.archives.length} archives, ${first.archive} (${first.created}) … ${last.archive} (${last.created})`;
    lines.push(`  ${what}, mtime ${v.mtime ?? '-'}: ${where}`);
  }
  return lines.join('\n');
}
