import { LockHeldError, UsageError } from './errors.js';

/** Exit codes of the `ferry` command (see the README's "Exit codes"). */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, PARTIAL: 3, LOCKED: 75 } as const;

/**
 * The exit code for an error that ended a command: 2 for a usage or config
 * problem, 75 when another run holds the lock, 1 for everything else. The one
 * place errors become exit codes (the CLI, and the `exit_code` the API reports
 * for a run that could not start).
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (err instanceof LockHeldError) return EXIT.LOCKED;
  return EXIT.FAILURE;
}

/** The outcome of a run or verification: 0 success, 3 partial (stored, but look at `attention`), 1 failure. */
export function exitCodeForStatus(status: 'success' | 'partial' | 'failure'): number {
  return status === 'success' ? EXIT.OK : status === 'partial' ? EXIT.PARTIAL : EXIT.FAILURE;
}
