import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

export type SqliteDatabase = BetterSqlite3.Database;

/** Opens a SQLite database with better-sqlite3, required on first use: a run without SQLite sources never loads it. */
export function openSqlite(path: string, options?: BetterSqlite3.Options): SqliteDatabase {
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  return new Database(path, options);
}
