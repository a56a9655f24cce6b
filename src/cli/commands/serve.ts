import { UsageError } from '../../errors.js';
import { startApiServer } from '../../service/api/server.js';
import { apiSettings, ServedJobs } from '../../service/jobs.js';
import { graceOnStop, untilAborted } from '../../service/shutdown.js';
import type { CommandContext } from '../context.js';

/**
 * `ferry serve [--listen HOST:PORT]`: the REST API for every job (`--job`: that one) on its own, until
 * SIGTERM/SIGINT. A run started through it gets `--grace` seconds to finish.
 */
export async function serveCommand(ctx: CommandContext, opts: { listen?: string; grace: string }): Promise<number> {
  const jobs = new ServedJobs(ctx.jobs(), ctx.log);
  const grace = Number(opts.grace);
  if (!Number.isInteger(grace) || grace < 0) throw new UsageError(`--grace: expected whole seconds, got "${opts.grace}"`);
  const server = await startApiServer(jobs, { listen: opts.listen ?? apiSettings(jobs.all.map((j) => j.config))?.listen ?? '127.0.0.1:8787', log: ctx.log });
  ctx.output('', { listening: server.address });
  ctx.flush(0);
  const stop = graceOnStop(ctx.signal, jobs, grace, ctx.log);
  try {
    await untilAborted(ctx.signal);
    await jobs.idle();
  } finally {
    stop.dispose();
    await server.close();
  }
  return 0;
}
