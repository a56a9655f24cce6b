import type Database from 'better-sqlite3';
import { openSqlite, type SqliteDatabase } from '../util/sqlite.js';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** What change detection compares, as restic does: a file is unchanged when all of these are equal. */
export interface FileStat {
  size: number;
  /** Nanoseconds, as decimal strings (they do not fit a double). */
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  mode: number;
}

/** One file of an archive's state: its stat when it was read, its hash and the archive holding its bytes. */
export interface FileRecord extends FileStat {
  sha256: string;
  archive: string;
}

const CURRENT = 'incremental-files.db';

/**
 * The per-file state of the newest archive of a chain, kept in `state_dir`
 * as an SQLite database keyed by the exact path bytes inside the archive,
 * so no file list is ever held in memory. A run reads the previous state
 * (`FileState.open`) and writes the next one to a temporary file
 * (`FileState.create`); `commit` renames it into place only once the
 * archive is stored, so an interrupted run leaves the previous state as it was.
 */
export class FileState {
  private readonly get: Database.Statement<[Buffer], RowShape>;
  private readonly put: Database.Statement<[Buffer, number, string, string, string, number, string, string]>;
  private pending = 0;

  private constructor(private readonly db: SqliteDatabase, private readonly path: string, private readonly writable: boolean) {
    if (writable) {
      db.pragma('journal_mode = OFF');
      db.pragma('synchronous = OFF');
      db.exec('CREATE TABLE IF NOT EXISTS files (key BLOB PRIMARY KEY, size INTEGER, mtime TEXT, ctime TEXT, ino TEXT, mode INTEGER, sha256 TEXT, archive TEXT) WITHOUT ROWID');
      db.exec('BEGIN');
    }
    this.get = db.prepare('SELECT size, mtime, ctime, ino, mode, sha256, archive FROM files WHERE key = ?');
    this.put = db.prepare('INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  }

  /** The state the previous archive left, or undefined when there is none. */
  static open(stateDir: string): FileState | undefined {
    const path = join(stateDir, CURRENT);
    if (!existsSync(path)) return undefined;
    return new FileState(openSqlite(path, { readonly: true, fileMustExist: true }), path, false);
  }

  /** A new, empty state for the archive this run builds (a temporary file until `commit`). */
  static create(stateDir: string, archive: string): FileState {
    const path = join(stateDir, `.${archive}.files.db.tmp`);
    rmSync(path, { force: true });
    return new FileState(openSqlite(path), path, true);
  }

  lookup(key: Buffer): FileRecord | undefined {
    const r = this.get.get(key);
    return r && { size: r.size, mtimeNs: r.mtime, ctimeNs: r.ctime, ino: r.ino, mode: r.mode, sha256: r.sha256, archive: r.archive };
  }

  record(key: Buffer, r: FileRecord): void {
    this.put.run(key, r.size, r.mtimeNs, r.ctimeNs, r.ino, r.mode, r.sha256, r.archive);
    if (++this.pending >= 50_000) {
      this.db.exec('COMMIT; BEGIN');
      this.pending = 0;
    }
  }

  /** Makes this state the current one (`create` only). */
  commit(stateDir: string): void {
    this.db.exec('COMMIT');
    this.db.close();
    renameSync(this.path, join(stateDir, CURRENT));
  }

  /** Closes it; a state that was never committed is deleted. Idempotent. */
  close(): void {
    if (this.db.open) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.db.close();
      if (this.writable) rmSync(this.path, { force: true });
    }
  }
}

interface RowShape {
  size: number;
  mtime: string;
  ctime: string;
  ino: string;
  mode: number;
  sha256: string;
  archive: string;
}

/** True when nothing change detection looks at differs. */
export function sameStat(a: FileStat, b: FileStat): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.mode === b.mode;
}
