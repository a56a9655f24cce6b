import { UsageError } from '../../errors.js';
import { runDaemon } from '../../service/daemon.js';
import { apiSettings } from '../../service/jobs.js';
import type { CommandContext } from '../context.js';

/** `ferry daemon [--api] [--listen HOST:PORT] [--grace SECONDS]`: the scheduler of every job (`--job`: that one), optionally with the API. */
export async function daemonCommand(ctx: CommandContext, opts: { api?: boolean; listen?: string; grace: string }): Promise<number> {
  const configs = ctx.jobs();
  const grace = Number(opts.grace);
  if (!Number.isInteger(grace) || grace < 0) throw new UsageError(`--grace: expected whole seconds, got "${opts.grace}"`);
  const listen = opts.listen ?? (opts.api ? apiSettings(configs)?.listen ?? '127.0.0.1:8787' : undefined);
  return runDaemon(configs, { log: ctx.log, signal: ctx.signal, graceSeconds: grace, listen });
}
