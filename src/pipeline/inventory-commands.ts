import { DEFAULT_CAPTURE_BYTES, describeFailure, runShell } from '../util/spawn.js';

/** What one inventory command printed, as stored in inventory.json. */
export interface InventoryCommandResult {
  command: string;
  /** Exit status; null when it was killed (timeout) or could not start. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Set when the command did not succeed: `exited with 2`, `timed out after 60 s`, `could not start: ...`. */
  error?: string;
  /** Set when stdout or stderr went over the capture cap and was cut. */
  truncated?: boolean;
}

export interface InventoryCommandOptions {
  /** Seconds each command may run before its process group is killed. Default 60. */
  timeout?: number;
  /** Aborting kills the running command and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Cap on each of stdout and stderr, in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Extra environment, laid over Ferry's own. */
  env?: Record<string, string | undefined>;
}

/**
 * Runs each named command with `/bin/sh -c`, one after another in the
 * record's order, and captures its output and exit code. A command that
 * fails, times out or cannot start is recorded with `error` and never makes
 * this reject; only an abort does.
 */
export async function captureInventoryCommands(
  commands: Record<string, string>,
  options: InventoryCommandOptions = {},
): Promise<Record<string, InventoryCommandResult>> {
  const timeoutMs = (options.timeout ?? 60) * 1000;
  const results: Record<string, InventoryCommandResult> = {};
  for (const [name, command] of Object.entries(commands)) {
    options.signal?.throwIfAborted();
    const r = await runShell(command, {
      timeoutMs,
      signal: options.signal,
      env: options.env,
      captureStdout: true,
      captureStderr: true,
      captureBytes: options.maxBytes ?? DEFAULT_CAPTURE_BYTES,
    });
    options.signal?.throwIfAborted();
    const entry: InventoryCommandResult = {
      command,
      exitCode: r.exitCode,
      stdout: r.stdout,
      stderr: r.stderr,
      durationMs: r.durationMs,
    };
    const error = describeFailure(r, timeoutMs);
    if (error) entry.error = error;
    if (r.truncated) entry.truncated = true;
    results[name] = entry;
  }
  return results;
}
