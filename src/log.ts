import { redactUrlsIn } from './util/redact-url.js';

/** Log lines go to stderr; stdout is reserved for the command's result. URLs in them are redacted. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  debug(message: string): void;
}

/** With `json`, each line is a JSON object `{"event":"log","level":...,"message":...}` (for `--progress json`). */
export function createLogger(options: { quiet?: boolean; verbose?: boolean; json?: boolean } = {}): Logger {
  const write = options.json
    ? (level: string, message: string) => process.stderr.write(`${JSON.stringify({ event: 'log', level, message: redactUrlsIn(message) })}\n`)
    : (level: string, message: string) => process.stderr.write(`ferry ${level}: ${redactUrlsIn(message)}\n`);
  return {
    info: (m) => { if (!options.quiet) write('info', m); },
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
    debug: (m) => { if (options.verbose) write('debug', m); },
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };
