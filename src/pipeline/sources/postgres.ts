import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PostgresSource } from '../../config/sources.js';
import { sourceArchivePath } from '../../config/load.js';
import { splitConnInfo } from '../../config/pg-conninfo.js';
import { describeFailure, runProcess, succeeded, type ProcessResult } from '../../util/spawn.js';
import type { PrepareSource } from './types.js';

/** The pg_dump invocation for one source: arguments, environment, and what may be shown. */
export interface PgDumpCommand {
  args: string[];
  /** PGPASSWORD (when a password is set) and PGAPPNAME; never printed. */
  env: Record<string, string>;
  dbname: string | undefined;
  /** Secrets to mask in anything shown to the user. */
  secrets: string[];
}

/**
 * Builds pg_dump's arguments. The password (the `password` option, or one
 * embedded in `url` in any form libpq reads: URL userinfo, `?password=`, or
 * a keyword DSN's `password=`) only ever travels in PGPASSWORD: it is
 * stripped from the connection string before that is passed with
 * `--dbname`, so no process's argv ever shows it. `--no-password` makes a
 * missing password fail at once instead of prompting.
 */
export function pgDumpCommand(pg: PostgresSource['postgres']): PgDumpCommand {
  const args = ['--no-password', pg.format === 'custom' ? '-Fc' : '-Fp'];
  let password = pg.password;
  let dbname = pg.dbname;
  const secrets: string[] = [];
  if (pg.url) {
    const conn = splitConnInfo(pg.url);
    if (conn.password) secrets.push(conn.password);
    password ??= conn.password;
    dbname ??= conn.dbname;
    args.push('--dbname', conn.conninfo);
  } else if (dbname) {
    args.push('--dbname', dbname);
  }
  if (pg.host) args.push('--host', pg.host);
  if (pg.port) args.push('--port', String(pg.port));
  if (pg.user) args.push('--username', pg.user);
  const env: Record<string, string> = { PGAPPNAME: 'ferry' };
  if (password) env.PGPASSWORD = password;
  if (pg.password) secrets.push(pg.password);
  return { args, env, dbname, secrets };
}

/** Replaces each secret (and its URL-encoded form) with `***`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    for (const form of new Set([s, encodeURIComponent(s)])) out = out.split(form).join('***');
  }
  return out;
}

/**
 * Dumps one database with `pg_dump` (from PATH) into a staging file that is
 * stored under `as`. The dump is spooled to disk rather than streamed into
 * the archive because a tar entry's header carries its size, which is only
 * known once pg_dump has finished; the file is deleted by `cleanup()`.
 *
 * pg_dump is killed (with its process group) after `timeout` seconds or
 * when `context.signal` aborts. Any failure rejects with an Error carrying
 * pg_dump's stderr, with the password masked.
 */
export const preparePostgresSource: PrepareSource<PostgresSource> = async (source, { stagingDir, log, signal }) => {
  const cmd = pgDumpCommand(source.postgres);
  const name = cmd.dbname ?? 'default database';
  const label = `source postgres ${name}`;
  const ext = source.postgres.format === 'custom' ? 'dump' : 'sql';
  const file = join(stagingDir, `pgdump-${randomBytes(6).toString('hex')}.${ext}`);
  const cleanup = () => rm(file, { force: true }).catch(() => {});
  const timeoutMs = source.timeout * 1000;

  const result = await runProcess('pg_dump', cmd.args, {
    env: cmd.env,
    stdoutFile: file,
    timeoutMs,
    signal,
    captureStderr: true,
    captureBytes: 64 * 1024,
  });
  if (!succeeded(result)) {
    await cleanup();
    throw new Error(redactSecrets(pgDumpFailure(label, result, timeoutMs), cmd.secrets));
  }
  const warnings = redactSecrets(result.stderr.trim(), cmd.secrets);
  if (warnings) log.warn(`${label}: pg_dump: ${warnings}`);
  const bytes = (await stat(file)).size;
  return {
    as: sourceArchivePath(source),
    kind: 'postgres',
    fsPath: file,
    exclude: [],
    meta: { dbname: cmd.dbname, format: source.postgres.format, bytes },
    cleanup,
  };
};

function pgDumpFailure(label: string, r: ProcessResult, timeoutMs: number): string {
  if ((r.spawnError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return `${label}: pg_dump not found on PATH; install the PostgreSQL client tools (e.g. the postgresql-client package)`;
  }
  // pg_dump's whole stderr (capped at 64 KiB) is the reason, so all of it goes into the message.
  const stderr = r.stderr.trim();
  return `${label}: pg_dump ${describeFailure(r, timeoutMs)}${stderr ? `: ${stderr}` : ''}`;
}
