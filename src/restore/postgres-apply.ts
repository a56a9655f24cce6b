import type { PostgresSource } from '../config/sources.js';
import { FerryError } from '../errors.js';
import type { Logger } from '../log.js';
import { pgDumpCommand, redactSecrets } from '../pipeline/sources/postgres.js';
import { describeFailure, runProcess, succeeded } from '../util/spawn.js';

export type DumpFormat = 'plain' | 'custom';

/**
 * The dump's format: what the archive's inventory recorded, else the
 * configured one, else guessed from the file name (`.sql` is plain).
 */
export function dumpFormat(meta: Record<string, unknown> | undefined, configured: PostgresSource | undefined, as: string): DumpFormat {
  const recorded = meta?.format;
  if (recorded === 'plain' || recorded === 'custom') return recorded;
  if (configured) return configured.postgres.format;
  return /\.sql$/i.test(as) ? 'plain' : 'custom';
}

/**
 * Connection arguments shared by psql and pg_restore (`--dbname`, `--host`,
 * `--port`, `--username`), built the way pg_dump's are: a password never
 * appears in them, it only travels in `env.PGPASSWORD`.
 */
function connection(source: PostgresSource): { args: string[]; env: Record<string, string>; secrets: string[] } {
  const cmd = pgDumpCommand(source.postgres);
  // pg_dump's own flags (--no-password, -Fp/-Fc) come first; the rest is the connection.
  return { args: cmd.args.slice(2), env: cmd.env, secrets: cmd.secrets };
}

function toolArgs(format: DumpFormat, conn: string[], file: string): { tool: string; args: string[] } {
  return format === 'plain'
    ? { tool: 'psql', args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', ...conn, '-f', file] }
    : { tool: 'pg_restore', args: ['--exit-on-error', '--single-transaction', ...conn, file] };
}

/** Quotes one word for a POSIX shell when it needs it. */
function shellWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line a user can run to apply a dump file: psql for a plain
 * dump, pg_restore for a custom one. It connects to the configured database,
 * or to `dbname` (a placeholder when unknown) when the source is not in the
 * config. It never holds a password: the tool prompts, or reads PGPASSWORD
 * or ~/.pgpass.
 */
export function applyCommandLine(format: DumpFormat, file: string, configured: PostgresSource | undefined, dbname: string | undefined): string {
  const conn = configured ? connection(configured) : { args: ['--dbname', dbname ?? 'DBNAME'], secrets: [] };
  const { tool, args } = toolArgs(format, conn.args, file);
  return redactSecrets([tool, ...args].map(shellWord).join(' '), conn.secrets);
}

/**
 * Applies a dump to the configured database in one transaction: `psql -f`
 * for a plain dump (stops at the first error), `pg_restore` for a custom
 * one. The password goes through PGPASSWORD only, and `--no-password` makes
 * a missing one fail instead of prompting. Nothing is dropped first, so the
 * database should be empty; on failure the transaction is rolled back and
 * the error carries the tool's stderr (password masked). The tool is killed
 * after the source's `timeout`.
 */
export async function applyDump(file: string, format: DumpFormat, source: PostgresSource, log: Logger, signal?: AbortSignal): Promise<void> {
  const conn = connection(source);
  const { tool, args } = toolArgs(format, conn.args, file);
  const timeoutMs = source.timeout * 1000;
  const result = await runProcess(tool, ['--no-password', ...args], {
    env: conn.env,
    timeoutMs,
    signal,
    captureStderr: true,
    captureBytes: 64 * 1024,
  });
  const stderr = redactSecrets(result.stderr.trim(), conn.secrets);
  if (!succeeded(result)) {
    if ((result.spawnError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      throw new FerryError(`${tool} not found on PATH; install the PostgreSQL client tools (e.g. the postgresql-client package)`);
    }
    const hint = /already exists/.test(stderr) ? '\nnothing was changed; apply the dump to an empty database (create a new one, or drop and recreate this one)' : '';
    throw new FerryError(`${tool} ${describeFailure(result, timeoutMs)}${stderr ? `: ${stderr}` : ''}${hint}`);
  }
  if (stderr) log.debug(`${tool}: ${stderr}`);
}
