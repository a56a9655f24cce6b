import { redactUrlsIn } from './util/redact-url.js';

/** Exit codes of the `ferry` command (SPEC §5). */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, PARTIAL: 3, LOCKED: 75 } as const;

/**
 * A failure that ends the command with a specific exit code. Only the CLI
 * entry point turns it into `process.exit`; everything else throws it.
 */
export class ExitError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'ExitError';
    this.exitCode = exitCode;
  }
}

export interface ConfigIssue {
  /** Dot-path of the key, e.g. `targets.usb.keep`. */
  path: string;
  /** 1-based line in the config file, when the key exists there. */
  line?: number;
  message: string;
}

/** A config problem: exit code 2, one line per issue with its dot-path and line. */
export class ConfigError extends ExitError {
  readonly issues: ConfigIssue[];
  constructor(file: string, issues: ConfigIssue[]) {
    const lines = issues.map((i) => `${file}${i.line ? `:${i.line}` : ''}: ${i.path || '(top level)'}: ${i.message}`);
    super(2, lines.length === 1 ? lines[0]! : `invalid config:\n  ${lines.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Message of any thrown value, with its cause chain when that adds
 * information. URLs in it are redacted (credentials and query), because
 * library errors echo request URLs such as upload sessions.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return redactUrlsIn(String(err));
  let msg = err.message;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message && !msg.includes(cause.message)) msg += ` (${cause.message})`;
  return redactUrlsIn(msg);
}
