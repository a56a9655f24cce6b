import { restoreArchive } from '../../restore/restore.js';
import { parseAt } from '../../restore/select.js';
import { ExitError, EXIT } from '../../errors.js';
import type { CommandContext } from '../context.js';
import { decryptKeys } from './keys.js';

export async function restoreCommand(
  ctx: CommandContext,
  archive: string,
  opts: { to: string; from?: string; only?: string[]; at?: string; force?: boolean; identity?: string[] },
): Promise<number> {
  const config = ctx.config();
  let at: Date | undefined;
  try {
    at = opts.at ? parseAt(opts.at) : undefined;
  } catch (err) {
    throw new ExitError(EXIT.USAGE, (err as Error).message);
  }
  const result = await restoreArchive(config, {
    which: archive,
    from: opts.from,
    at,
    to: opts.to,
    only: opts.only,
    force: opts.force,
    keys: decryptKeys(config, opts.identity),
    log: ctx.log,
    signal: ctx.signal,
  });
  ctx.output(`restored ${result.archive} from ${result.target} into ${result.to}: ${result.files} files, ${result.directories} directories, ${result.symlinks} symlinks`, result);
  return EXIT.OK;
}
