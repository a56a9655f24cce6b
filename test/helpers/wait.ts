import { readFileSync } from 'node:fs';

export interface WaitOptions {
  /** What the test waits for, as it should read in the failure: "the lock file to appear". */
  what: string;
  /** Give up after this many milliseconds (default 30 s). A bound on a hang, not a speed requirement. */
  timeout?: number;
  /** Milliseconds between checks (default 20). */
  interval?: number;
}

/**
 * Checks `condition` until it returns something other than `undefined`,
 * `null` or `false`, and resolves with that value. A condition that throws
 * ends the wait at once with that error (use it to say "this will never
 * happen now", e.g. the process under test exited). Rejects with
 * `timed out after N ms waiting for <what>` when the timeout passes.
 */
export async function waitFor<T>(condition: () => T | undefined | null | false | Promise<T | undefined | null | false>, options: WaitOptions): Promise<T> {
  const timeout = options.timeout ?? 30_000;
  const interval = options.interval ?? 20;
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${options.what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * True while `pid` names a running process. A zombie (exited, not yet reaped,
 * e.g. an orphan in a container whose init does not reap) counts as gone.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ...": comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/** Resolves once process `pid` has ended; rejects naming `what` if it is still running after the timeout. */
export async function waitForExit(pid: number, what: string, timeout?: number): Promise<void> {
  await waitFor(() => !isRunning(pid), { what: `${what} (pid ${pid}) to end`, timeout });
}
