import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { openSqlite, type SqliteDatabase } from '../../util/sqlite.js';
import type { SqliteSource } from '../../config/sources.js';
import { sourceArchivePath } from '../../config/load.js';
import { resolveUserPath } from '../../util/paths.js';
import type { PrepareSource } from './types.js';

/** Pages copied per backup step while nobody writes (4 MiB at the default page size); the event loop turns between steps. */
const PAGES_PER_STEP = 1024;
/** Consecutive backup steps without progress before giving up. */
const MAX_STALLED_STEPS = 1000;

/**
 * Takes a consistent snapshot of a live SQLite database into the staging
 * directory. The file itself is never copied: the snapshot comes from
 * SQLite's online backup API or, with `vacuum: true`, from `VACUUM INTO`,
 * so a writer in WAL or rollback-journal mode can keep going. The source is
 * opened read-only and waits up to `busy_timeout` ms for locks.
 *
 * The snapshot must pass `PRAGMA integrity_check` before it is handed on;
 * a corrupt or unreadable source rejects with a message naming the
 * configured path, so it never replaces good archives. The snapshot keeps
 * the source's journal mode, so a WAL database restores as a WAL database.
 */
export const prepareSqliteSource: PrepareSource<SqliteSource> = async (source, { config, stagingDir, log, signal }) => {
  const dbPath = resolveUserPath(config.configDir, source.sqlite);
  const label = `source sqlite ${source.sqlite}`;
  const snapshot = join(stagingDir, `sqlite-${randomBytes(6).toString('hex')}-${basename(dbPath)}`);
  const cleanup = async () => {
    await Promise.all(['', '-wal', '-shm', '-journal'].map((s) => rm(snapshot + s, { force: true }).catch(() => {})));
  };

  try {
    signal?.throwIfAborted();
    const started = Date.now();
    const journalMode = await takeSnapshot(dbPath, snapshot, source, signal);
    signal?.throwIfAborted();
    const facts = checkSnapshot(snapshot, journalMode);
    const bytes = (await stat(snapshot)).size;
    log.debug(`${label}: snapshot of ${facts.pages} pages (${journalMode}) in ${Date.now() - started} ms`);
    return {
      as: sourceArchivePath(source),
      kind: 'sqlite',
      fsPath: snapshot,
      exclude: [],
      origin: dbPath,
      meta: { ...facts, journal_mode: journalMode, method: source.vacuum ? 'vacuum' : 'backup', bytes },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    if (signal?.aborted) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(message.startsWith(label) ? message : `${label}: ${message} (${dbPath})`, { cause: err });
  }
};

/** Writes a consistent copy of `dbPath` to `dest`; returns the source's journal mode. */
async function takeSnapshot(dbPath: string, dest: string, source: SqliteSource, signal?: AbortSignal): Promise<string> {
  try {
    await stat(dbPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? 'database file not found' : `cannot read: ${code ?? (err as Error).message}`, { cause: err });
  }
  let db: SqliteDatabase;
  try {
    db = openSqlite(dbPath, { readonly: true, fileMustExist: true, timeout: source.busy_timeout });
  } catch (err) {
    throw new Error(`cannot open: ${(err as Error).message}`, { cause: err });
  }
  try {
    const journalMode = String(db.pragma('journal_mode', { simple: true }));
    if (source.vacuum) {
      // One read transaction: a consistent point even while others write.
      db.prepare('VACUUM INTO ?').run(dest);
    } else {
      await backupConsistently(db, dest, signal);
    }
    return journalMode;
  } finally {
    db.close();
  }
}

/**
 * Copies with the backup API inside one read transaction on the source, so
 * every step sees the same snapshot: in WAL mode the writer carries on; in
 * rollback-journal mode a writer waits (with its own busy timeout) until the
 * copy ends, as it must for any consistent copy. Taking the read lock waits
 * up to `busy_timeout`. The copy goes in 4 MiB steps so the event loop keeps
 * turning between them.
 */
async function backupConsistently(db: SqliteDatabase, dest: string, signal?: AbortSignal): Promise<void> {
  db.exec('BEGIN');
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get(); // starts the read transaction
    let lastRemaining = Infinity;
    let stalled = 0;
    await db.backup(dest, {
      progress: ({ remainingPages }) => {
        if (signal?.aborted) throw signal.reason ?? new Error('aborted');
        // Inside a read transaction the copy cannot restart; no progress means the destination is busy.
        stalled = remainingPages >= lastRemaining ? stalled + 1 : 0;
        if (stalled > MAX_STALLED_STEPS) throw new Error('backup made no progress (database busy or locked); raise busy_timeout');
        lastRemaining = remainingPages;
        return PAGES_PER_STEP;
      },
    });
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
  }
}

/** Opens the snapshot, checks its integrity and matches its journal mode to the source's. */
function checkSnapshot(path: string, sourceJournalMode: string): { pages: number; page_size: number } {
  const db = openSqlite(path, { fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check(20)') as { integrity_check: string }[];
    const problems = rows
      .flatMap((r) => r.integrity_check.split('\n'))
      .filter((m) => m.trim() && m !== 'ok' && !m.startsWith('*** in database'));
    if (problems.length > 0) {
      throw new Error(`database is corrupt, integrity_check failed: ${problems.slice(0, 5).join('; ')}`);
    }
    if (sourceJournalMode === 'wal' && db.pragma('journal_mode', { simple: true }) !== 'wal') {
      db.pragma('journal_mode = WAL');
    }
    return {
      pages: Number(db.pragma('page_count', { simple: true })),
      page_size: Number(db.pragma('page_size', { simple: true })),
    };
  } finally {
    db.close();
  }
}
