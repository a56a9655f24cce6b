import { createReadStream } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../util/sqlite.js';
import type { LoadedConfig } from '../config/load.js';
import type { PostgresSource, SourceKind } from '../config/sources.js';
import { DamagedArchiveError, FerryError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { pgDumpCommand } from '../pipeline/sources/postgres.js';
import { makeStagingDir } from '../state/staging-dirs.js';
import { resolveUserPath } from '../util/paths.js';
import type { DecryptKeys } from './decrypt.js';
import { parseInventory } from './inventory-stream.js';
import { applyCommandLine, applyDump, dumpFormat } from './postgres-apply.js';
import { restoreArchive } from './restore.js';
import {
  findConfigSource, normalizeSourceName, peekArchive, requireArchiveSource, sourceGlobs, type PeekedArchive,
} from './source.js';
import type { ArchiveQuery } from './locate.js';
import { SQLITE_SIDECARS, swapIntoPlace } from './swap.js';

export interface InPlaceOptions extends ArchiveQuery {
  /** The source's `as` name. */
  source: string;
  /** postgres only: apply the dump to the configured database. */
  apply?: boolean;
  /** postgres without `apply` only: directory the dump file is written to (default: the current directory). */
  to?: string;
  /** postgres without `apply` only: overwrite an existing dump file. */
  force?: boolean;
  keys: DecryptKeys;
  log: Logger;
  signal?: AbortSignal;
  /** Clock for the `.pre-restore-<ts>` name (tests). */
  now?: Date;
}

export interface InPlaceResult {
  archive: string;
  target: string;
  source: string;
  kind: SourceKind;
  /** replaced: the data is back at `path`; dump-written: a dump file was written to `path`; applied: a dump was applied to `database`. */
  action: 'replaced' | 'dump-written' | 'applied';
  path?: string;
  /** Where the data that was at `path` went (`<path>.pre-restore-<ts>`); absent when nothing was there. */
  previous?: string;
  /** SQLite files that went along with it (`<previous>-wal`, ...). */
  previousSidecars?: string[];
  /** config: `path` is the configured one; archive: the source is no longer configured, so the path recorded in the archive was used. */
  pathFrom?: 'config' | 'archive';
  /** How to apply a written dump; never holds a password. */
  applyCommand?: string;
  database?: string;
}

const usage = (message: string) => new UsageError(message);

/**
 * Puts one source of an archive back where it came from (`ferry restore
 * --source AS --in-place`). Order of events, so a failure at any step leaves
 * the live data untouched:
 *
 * 1. The archive is pinned by name and its manifest must list the source
 *    (else a UsageError naming the sources it has).
 * 2. Only that source (and the inventory) is extracted into a temporary
 *    directory beside the destination, while the whole archive is read and
 *    checked against the manifest's sha256.
 * 3. path / sqlite: a restored SQLite file must pass `PRAGMA integrity_check`
 *    (it takes the live file's mode and owner). Then the current data is
 *    renamed to `<path>.pre-restore-<UTC ts>` (a database with its -wal/-shm
 *    files) and the restored data renamed into place. Nothing is deleted.
 *    The destination is the configured path; a source no longer in the
 *    config goes back to the origin recorded in the archive, with a warning.
 *    A directory is replaced whole: files its `exclude` globs kept out of
 *    the archive remain only in the moved-aside copy.
 * 4. postgres: without `apply`, the dump is written to `to` (or the current
 *    directory) and `applyCommand` says how to load it; with `apply`, it is
 *    loaded into the configured database with psql / pg_restore in one
 *    transaction.
 *
 * Other sources' live files are never touched. Command sources have no
 * original place and are refused (UsageError). Stop the app first: a process
 * holding the old file open keeps writing to it, beside the restored one.
 */
export async function restoreSourceInPlace(config: LoadedConfig, options: InPlaceOptions): Promise<InPlaceResult> {
  const as = normalizeSourceName(options.source);
  const configured = findConfigSource(config, as);
  const peeked = await peekArchive(config, options, options.log, options.signal);
  const summary = requireArchiveSource(peeked, as);
  const kind = summary.kind as SourceKind;
  if (configured && configured.kind !== kind) {
    throw usage(`source "${as}" is a ${configured.kind} source in the config but a ${kind} source in ${peeked.archive}; restore it with --to DIR instead`);
  }
  if (kind === 'command') {
    throw usage(`source "${as}" is a command's output and has no original place; restore it with --source ${as} --to DIR`);
  }
  if (options.apply && kind !== 'postgres') throw usage(`--apply is only for postgres sources; "${as}" is a ${kind} source`);
  if (kind === 'postgres') return restorePostgres(config, peeked, as, configured?.source as PostgresSource | undefined, options);
  if (options.to) throw usage(`--in-place puts "${as}" back at its own path; leave out --to, or restore without --in-place`);

  const source = configured?.source as { path: string } | { sqlite: string } | undefined;
  const path = source
    ? resolveUserPath(config.configDir, 'path' in source ? source.path : source.sqlite)
    : summary.origin;
  if (!path) throw new FerryError(`source "${as}" is not in the config and ${peeked.archive} records no original path for it; restore it with --to DIR`);
  if (!source) options.log.warn(`source "${as}" is not in the config; restoring it to the path recorded in the archive: ${path}`);

  await mkdir(dirname(path), { recursive: true });
  const work = await mkdtemp(join(dirname(path), `.${basename(path)}.ferry-source-`));
  try {
    const { item } = await extractSource(config, peeked, as, work, options);
    if (kind === 'sqlite') await checkRestoredDatabase(item, path, as);
    const swap = await swapIntoPlace(item, path, { now: options.now ?? new Date(), sidecars: kind === 'sqlite' ? SQLITE_SIDECARS : [] });
    return {
      archive: peeked.archive,
      target: peeked.target,
      source: as,
      kind,
      action: 'replaced',
      path,
      previous: swap.previous,
      previousSidecars: swap.previousSidecars,
      pathFrom: source ? 'config' : 'archive',
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function restorePostgres(
  config: LoadedConfig,
  peeked: PeekedArchive,
  as: string,
  source: PostgresSource | undefined,
  options: InPlaceOptions,
): Promise<InPlaceResult> {
  const base = { archive: peeked.archive, target: peeked.target, source: as, kind: 'postgres' as const };
  if (options.apply) {
    if (!source) throw usage(`--apply needs source "${as}" in the config, to know which database to load it into; without --apply the dump is written out with the command that applies it`);
    if (options.to) throw usage('--to is not used with --apply: the dump is loaded into the configured database');
    const database = pgDumpCommand(source.postgres).dbname ?? 'the default database';
    const work = await makeStagingDir(config.stagingDir, `${config.job}-restore`);
    try {
      const { item, entry } = await extractSource(config, peeked, as, work, options);
      const format = dumpFormat(entry?.meta, source, as);
      options.log.info(`applying ${as} (${format} dump) to database ${database}`);
      await applyDump(item, format, source, options.log, options.signal);
      return { ...base, action: 'applied', database };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  const dir = resolve(options.to ?? '.');
  const dest = join(dir, basename(as));
  if (!options.force && (await lstat(dest).then(() => true, () => false))) throw usage(`${dest} already exists; pass --force to overwrite it`);
  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(join(dir, `.${basename(as)}.ferry-source-`));
  try {
    const { item, entry } = await extractSource(config, peeked, as, work, options);
    await rename(item, dest);
    const format = dumpFormat(entry?.meta, source, as);
    const dbname = typeof entry?.meta?.dbname === 'string' ? entry.meta.dbname : undefined;
    return { ...base, action: 'dump-written', path: dest, applyCommand: applyCommandLine(format, dest, source, dbname) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Extracts one source and inventory.json from the pinned archive into
 * `work/data` (the whole archive is verified before anything lands there)
 * and returns the restored item's path and the source's inventory entry.
 */
async function extractSource(config: LoadedConfig, peeked: PeekedArchive, as: string, work: string, options: InPlaceOptions) {
  const to = join(work, 'data');
  const { log } = options;
  log.info(`restoring source ${as} from ${peeked.archive} on ${peeked.target}`);
  await restoreArchive(config, {
    which: peeked.archive,
    from: peeked.target,
    to,
    only: [...sourceGlobs(as), 'inventory.json'],
    keys: options.keys,
    // Its "restoring into <temporary dir>" line would only confuse; keep it for --verbose.
    log: { ...log, info: (m) => log.debug(m) },
    signal: options.signal,
  });
  const item = join(to, as);
  await lstat(item).catch((err: unknown) => {
    throw new DamagedArchiveError(`${peeked.archive} lists source "${as}" but holds no data for it`, { cause: err });
  });
  // Streamed, so a source of a million-file archive does not bring the whole file list into memory.
  const inventory = await parseInventory(createReadStream(join(to, 'inventory.json')), 'inventory.json').catch(() => undefined);
  return { item, entry: inventory?.sources.find((s) => s.as === as) };
}

/**
 * Throws a DamagedArchiveError (live data untouched) unless `file` opens as a SQLite
 * database and passes `PRAGMA integrity_check`. On success the file takes
 * the mode (and, when running as root, the owner) of the live database it
 * replaces, so the app can open it as before.
 */
async function checkRestoredDatabase(file: string, livePath: string, as: string): Promise<void> {
  const fail = (why: string, cause?: unknown) =>
    new DamagedArchiveError(`restored database "${as}" ${why}; the live database was not touched`, { cause });
  let db: SqliteDatabase;
  try {
    db = openSqlite(file, { fileMustExist: true });
  } catch (err) {
    throw fail(`cannot be opened: ${(err as Error).message}`, err);
  }
  try {
    const rows = db.pragma('integrity_check(20)') as { integrity_check: string }[];
    const problems = rows.flatMap((r) => r.integrity_check.split('\n')).filter((m) => m.trim() && m !== 'ok' && !m.startsWith('*** in database'));
    if (problems.length > 0) throw fail(`failed integrity_check: ${problems.slice(0, 5).join('; ')}`);
  } catch (err) {
    throw err instanceof DamagedArchiveError ? err : fail(`cannot be read: ${(err as Error).message}`, err);
  } finally {
    db.close();
  }
  const live = await stat(livePath).catch(() => undefined);
  if (live) {
    await chmod(file, live.mode & 0o7777);
    if (process.getuid?.() === 0) await chown(file, live.uid, live.gid);
  }
}
