import { userMessage } from '../errors.js';
import { EXIT, exitCodeOf } from '../exit-codes.js';
import type { CommandContext } from './context.js';

/** The exit code of several jobs' outcomes: the most serious one (2, then 1, then 75, then 3), 0 when every job succeeded. */
export function combinedExitCode(codes: number[]): number {
  for (const code of [EXIT.USAGE, EXIT.FAILURE, EXIT.LOCKED, EXIT.PARTIAL] as number[]) if (codes.includes(code)) return code;
  return codes.find((c) => c !== EXIT.OK) ?? EXIT.OK;
}

/**
 * Runs a per-job command for every job it works on (`--job`, else every job
 * of a config directory), one after another. With one job this is the
 * command itself (a config file, or `--job`): same output, same errors. With several, each job gets a
 * context of its own whose `config()` is that job; a job that fails (even
 * by throwing, e.g. its lock is held) does not stop the next. The output
 * is each job's text under a `job NAME:` heading, or with --json
 * `{ jobs: [{ job, exit_code, ...document }] }`; the exit code is
 * `combinedExitCode` of the jobs'.
 */
export async function forEachJob(ctx: CommandContext, one: (ctx: CommandContext) => Promise<number>): Promise<number> {
  const jobs = ctx.jobs();
  if (jobs.length === 1 && (!ctx.jobSet().directory || ctx.options.job !== undefined)) return one(ctx);
  const results: { job: string; code: number; human: string; json: unknown }[] = [];
  for (const job of jobs) {
    const captured = { human: '', json: {} as unknown };
    const jobCtx: CommandContext = {
      ...ctx,
      config: () => job,
      jobs: () => [job],
      output: (human, json) => Object.assign(captured, { human, json }),
      flush: () => {},
    };
    let code: number;
    try {
      code = await one(jobCtx);
    } catch (err) {
      code = exitCodeOf(err);
      captured.human = `error: ${userMessage(err)}`;
      captured.json = { error: userMessage(err) };
      process.stderr.write(`ferry: job ${job.job}: ${userMessage(err)}\n`);
    }
    results.push({ job: job.job, code, ...captured });
    if (ctx.signal.aborted) break;
  }
  const code = combinedExitCode(results.map((r) => r.code));
  ctx.output(
    results.map((r) => `job ${r.job}:\n${r.human.replace(/^(?=.)/gm, '  ')}`).join('\n\n'),
    { jobs: results.map((r) => ({ job: r.job, ...(r.json as object), exit_code: r.code })) },
  );
  return code;
}

