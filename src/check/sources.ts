import { openSqlite, type SqliteDatabase } from '../util/sqlite.js';
import type { LoadedConfig } from '../config/load.js';
import { sourceKindOf, type CommandSource, type PostgresSource, type SourceConfig, type SqliteSource } from '../config/sources.js';
import { pgDumpCommand, redactSecrets } from '../pipeline/sources/postgres.js';
import { resolveUserPath } from '../util/paths.js';
import { describeFailure, runProcess, succeeded } from '../util/spawn.js';
import { missingCommands } from './commands.js';
import { checkPathSource } from './path-source.js';
import { newCheck, type SourceCheck } from './types.js';

/** How long check waits for pg_dump to connect and read the schema. */
const PG_CHECK_TIMEOUT_MS = 60_000;

/**
 * Checks every source the way tonight's run will read it, then the shell
 * commands the run starts (before hooks fail the run; after hooks,
 * inventory commands and notifier commands only warn). Never throws for a
 * source: each problem lands in its SourceCheck.
 */
export async function checkSources(config: LoadedConfig, signal?: AbortSignal): Promise<SourceCheck[]> {
  const out: SourceCheck[] = [];
  for (const [i, source] of config.sources.entries()) {
    const kind = sourceKindOf(source)!;
    const check = newCheck(`sources.${i} (${kind} ${label(source)})`);
    try {
      if (kind === 'path') await checkPathSource(source as Extract<SourceConfig, { path: string }>, config, check, signal);
      else if (kind === 'sqlite') checkSqlite(source as SqliteSource, config, check);
      else if (kind === 'postgres') await checkPostgres(source as PostgresSource, check, signal);
      else await checkCommand(source as CommandSource, config, check, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      check.errors.push((err as Error).message);
    }
    out.push(finish(check));
  }
  const shell: [string, string, boolean][] = [
    ...config.hooks.before.map((c, i): [string, string, boolean] => [`hooks.before.${i}`, c, true]),
    ...config.hooks.after.map((c, i): [string, string, boolean] => [`hooks.after.${i}`, c, false]),
    ...Object.entries(config.inventory.commands).map(([k, c]): [string, string, boolean] => [`inventory.commands.${k}`, c, false]),
    ...config.notify.flatMap((n, i): [string, string, boolean][] => (n.type === 'command' ? [[`notify.${i}.command`, n.command, false]] : [])),
  ];
  for (const [name, command, fatal] of shell) {
    const check = newCheck(name);
    const missing = await missingCommands(command, config.configDir, signal);
    const message = `${missing.map((m) => `"${m}"`).join(', ')} not found on PATH (${command})`;
    if (missing.length) (fatal ? check.errors : check.warnings).push(fatal ? `${message}; the run would stop before any source is read` : message);
    out.push(finish(check));
  }
  return out;
}

function finish(check: SourceCheck): SourceCheck {
  check.ok = check.errors.length === 0 && check.unreadable.length === 0;
  return check;
}

function label(source: SourceConfig): string {
  if ('path' in source) return source.path;
  if ('sqlite' in source) return source.sqlite;
  if ('command' in source) return JSON.stringify(source.command);
  return source.as ?? source.postgres.dbname ?? 'database';
}

/** Opens the database read-only as the run does and runs `PRAGMA quick_check`. */
function checkSqlite(source: SqliteSource, config: LoadedConfig, check: SourceCheck): void {
  const file = resolveUserPath(config.configDir, source.sqlite);
  let db: SqliteDatabase;
  try {
    db = openSqlite(file, { readonly: true, fileMustExist: true, timeout: source.busy_timeout });
  } catch (err) {
    check.errors.push(`cannot open ${file}: ${(err as Error).message}`);
    return;
  }
  try {
    const rows = db.pragma('quick_check(20)') as { quick_check: string }[];
    const problems = rows.map((r) => r.quick_check).filter((m) => m !== 'ok');
    if (problems.length) check.errors.push(`${file} fails PRAGMA quick_check: ${problems.slice(0, 5).join('; ')}`);
    else check.details.push(`quick_check ok (${String(db.pragma('journal_mode', { simple: true }))} mode)`);
  } catch (err) {
    check.errors.push(`${file}: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

/**
 * Runs the run's own pg_dump command line with `--schema-only` into
 * /dev/null: the same binary, connection options and PGPASSWORD, so a
 * wrong password, a missing database, missing privileges or a pg_dump too
 * old for the server fail here as they would tonight.
 */
async function checkPostgres(source: PostgresSource, check: SourceCheck, signal?: AbortSignal): Promise<void> {
  const cmd = pgDumpCommand(source.postgres);
  const r = await runProcess('pg_dump', [...cmd.args, '--schema-only', '--file', '/dev/null'], {
    env: cmd.env, captureStderr: true, captureBytes: 64 * 1024, timeoutMs: PG_CHECK_TIMEOUT_MS, signal,
  });
  if (succeeded(r)) {
    check.details.push(`pg_dump connected${cmd.dbname ? ` to ${cmd.dbname}` : ''} and read the schema`);
    return;
  }
  if ((r.spawnError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    check.errors.push('pg_dump not found on PATH; install the PostgreSQL client tools (e.g. the postgresql-client package)');
    return;
  }
  const stderr = r.stderr.trim();
  check.errors.push(redactSecrets(`pg_dump ${describeFailure(r, PG_CHECK_TIMEOUT_MS)}${stderr ? `: ${stderr}` : ''}`, cmd.secrets));
}

/** The command's programs must be found; with `allow_failure` a missing one is only a warning, as the run would store the output anyway. */
async function checkCommand(source: CommandSource, config: LoadedConfig, check: SourceCheck, signal?: AbortSignal): Promise<void> {
  const missing = await missingCommands(source.command, config.configDir, signal);
  if (!missing.length) return;
  const message = `${missing.map((m) => `"${m}"`).join(', ')} not found on PATH`;
  if (source.allow_failure) check.warnings.push(`${message}; its output would be stored anyway (allow_failure)`);
  else check.errors.push(message);
}
