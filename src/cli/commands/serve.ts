import { UsageError } from '../../errors.js';
import { startApiServer } from '../../service/api/server.js';
import { RunManager } from '../../service/runs.js';
import { graceOnStop, untilAborted } from '../../service/shutdown.js';
import type { CommandContext } from '../context.js';

/**
 * `ferry serve [--listen HOST:PORT]`: the REST API on its own, until
 * SIGTERM/SIGINT. A run started through it gets `--grace` seconds to finish.
 */
export async function serveCommand(ctx: CommandContext, opts: { listen?: string; grace: string }): Promise<number> {
  const config = ctx.config();
  const grace = Number(opts.grace);
  if (!Number.isInteger(grace) || grace < 0) throw new UsageError(`--grace: expected whole seconds, got "${opts.grace}"`);
  const runs = new RunManager(config, ctx.log);
  const server = await startApiServer(config, { listen: opts.listen ?? config.api?.listen ?? '127.0.0.1:8787', runs, log: ctx.log });
  ctx.output('', { listening: server.address });
  const stop = graceOnStop(ctx.signal, runs, grace, ctx.log);
  try {
    await untilAborted(ctx.signal);
    await runs.idle();
  } finally {
    stop.dispose();
    await server.close();
  }
  return 0;
}
