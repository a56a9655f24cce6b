import type { Logger } from '../log.js';
import { failureMessage, runShell, succeeded } from '../util/spawn.js';

export interface HookOptions {
  /** Seconds each hook may run before its whole process group is killed. */
  timeout: number;
  /** Extra environment for every hook (e.g. FERRY_STATUS, FERRY_ARCHIVE, FERRY_JOB), laid over Ferry's own. */
  env?: Record<string, string | undefined>;
  /** Each line a hook prints, on stdout or stderr, is logged at info level (Ferry's stderr). */
  log: Logger;
  /** Aborting kills the running hook and rejects; later hooks do not start. */
  signal?: AbortSignal;
  /**
   * Run every hook even when one fails, then reject with the first failure
   * (suits `after` hooks, which are cleanup). Default: stop at the first failure.
   */
  keepGoing?: boolean;
}

/** A hook that exited non-zero, timed out, could not start or was cancelled. */
export class HookError extends Error {
  readonly command: string;
  constructor(command: string, message: string) {
    super(message);
    this.name = 'HookError';
    this.command = command;
  }
}

/**
 * Runs each command in order with `/bin/sh -c`, waiting for one to finish
 * before the next starts. Resolves when all succeeded. Rejects with a
 * HookError such as `hook "docker compose stop app" exited with 1: <last
 * stderr lines>` or `hook "sleep 999" timed out after 300 s`. An empty list
 * resolves at once.
 */
export async function runHooks(commands: readonly string[], options: HookOptions): Promise<void> {
  const timeoutMs = options.timeout * 1000;
  let first: HookError | undefined;
  for (const command of commands) {
    if (options.signal?.aborted) throw first ?? new HookError(command, `hook "${command}" was cancelled`);
    const label = `hook "${command}"`;
    options.log.debug(`running ${label}`);
    const forward = (line: string) => options.log.info(`${label}: ${line}`);
    const result = await runShell(command, {
      env: options.env,
      timeoutMs,
      signal: options.signal,
      onStdoutLine: forward,
      onStderrLine: forward,
    });
    if (succeeded(result)) continue;
    const error = new HookError(command, failureMessage(label, result, timeoutMs));
    if (!options.keepGoing || result.aborted) throw first ?? error;
    options.log.error(error.message);
    first ??= error;
  }
  if (first) throw first;
}
