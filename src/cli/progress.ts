import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../job/run.js';
import type { CommandContext } from './context.js';
import { formatBytes } from './format.js';

export interface Progress {
  update(event: ProgressEvent): void;
  stop(): void;
}

/**
 * Progress on stderr: bars on a TTY (bytes read, archive bytes, one bar per
 * target), and otherwise a plain line every 10 seconds.
 */
export function createProgress(ctx: CommandContext, targets: string[]): Progress {
  if (ctx.options.quiet) return { update() {}, stop() {} };
  if (!process.stderr.isTTY) return plainProgress(ctx);
  const multi = new cliProgress.MultiBar(
    { stream: process.stderr, clearOnComplete: false, hideCursor: true, format: '{label} |{bar}| {done}', barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  const read = multi.create(1, 0, { label: 'read   '.padEnd(12), done: '' });
  const written = multi.create(1, 0, { label: 'archive'.padEnd(12), done: '' });
  const perTarget = new Map(targets.map((t) => [t, multi.create(1, 0, { label: t.slice(0, 11).padEnd(12), done: '' })]));
  return {
    update(e) {
      if (e.kind === 'archive') {
        const total = Math.max(e.estimate ?? 1, e.read, 1);
        read.setTotal(total);
        read.update(e.read, { done: formatBytes(e.read) });
        written.setTotal(total);
        written.update(e.written, { done: formatBytes(e.written) });
        for (const bar of perTarget.values()) bar.setTotal(total);
      } else {
        perTarget.get(e.target)?.update(e.bytes, { done: formatBytes(e.bytes) });
      }
    },
    stop: () => multi.stop(),
  };
}

function plainProgress(ctx: CommandContext): Progress {
  let last = Date.now();
  return {
    update(e) {
      if (e.kind !== 'archive' || Date.now() - last < 10_000) return;
      last = Date.now();
      ctx.log.info(`read ${formatBytes(e.read)}${e.estimate ? ` of about ${formatBytes(e.estimate)}` : ''}, archive ${formatBytes(e.written)}`);
    },
    stop() {},
  };
}
