import { redactUrlsIn } from './util/redact-url.js';

/**
 * Ferry's domain errors. The core throws these (and StorageError for a
 * target's failures); it never chooses an exit code or an HTTP status. The
 * CLI maps them to exit codes in one place (`exitCodeOf` in exit-codes.ts)
 * and the API to HTTP statuses in one place (`statusFor` in
 * service/api/server.ts). Code decides by class, never by message text.
 *
 * A FerryError's message is complete as it stands: it names the file, key,
 * archive or target, says what to do, and is shown to the user as is. The
 * error it was made from, if any, is its `cause`. A plain FerryError is a
 * failure that fits none of the kinds below.
 */
export class FerryError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The command, its flags, a request or the config asks for something that cannot be done as asked; changing them fixes it. */
export class UsageError extends FerryError {}

export interface ConfigIssue {
  /** Dot-path of the key, e.g. `targets.usb.keep`. */
  path: string;
  /** 1-based line in the config file, when the key exists there. */
  line?: number;
  /** 1-based column of the key or value that line points at. */
  column?: number;
  message: string;
}

/** `file:line:column: path: message` (no path for the file as a whole), the form editors and terminals link to a place in the file. */
export function formatConfigIssue(file: string, i: ConfigIssue): string {
  const at = i.line ? `:${i.line}${i.column ? `:${i.column}` : ''}` : '';
  return `${file}${at}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/** A config problem: one line per issue with the file, line, column and dot-path. */
export class ConfigError extends UsageError {
  readonly issues: ConfigIssue[];
  /** The config file as it is named in the messages. */
  readonly file: string;
  constructor(file: string, issues: ConfigIssue[]) {
    const lines = issues.map((i) => formatConfigIssue(file, i));
    super(lines.length === 1 ? lines[0]! : `invalid config:\n  ${lines.join('\n  ')}`);
    this.issues = issues;
    this.file = file;
  }
}

/** Another run of the job holds its lock. */
export class LockHeldError extends FerryError {}

/** No archive matching the request is on the targets that were asked. */
export class ArchiveNotFoundError extends FerryError {}

/** An archive's stored bytes or contents differ from what its manifest or inventory records. */
export class DamagedArchiveError extends FerryError {}

/** An encrypted archive cannot be opened: no key was given, a key cannot be read, or none matches. */
export class DecryptError extends FerryError {}

/** An archive entry that is never restored (it would leave the destination, write through a link, ...); the message names it. */
export class UnsafeEntryError extends FerryError {}

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

/** What the user is shown for an error: a FerryError's own message (it is complete), anything else with its cause. */
export function userMessage(err: unknown): string {
  return err instanceof FerryError ? redactUrlsIn(err.message) : describeError(err);
}
