import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LoadedConfig } from '../../src/config/load.js';
import { sqliteSourceSchema } from '../../src/config/sources.js';
import { silentLogger } from '../../src/log.js';
import { prepareSqliteSource } from '../../src/pipeline/sources/sqlite.js';
import type { SourceContext } from '../../src/pipeline/sources/types.js';

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');

/**
 * A separate process that keeps writing: each transaction inserts exactly
 * 10 rows, so any consistent snapshot holds a multiple of 10. In WAL mode it
 * never pauses; in rollback-journal mode, where a writer that never pauses
 * starves every reader (the app's own included), it leaves 1 ms between
 * transactions. It prints "ready" once writing and "commits <n>" on SIGTERM.
 */
const WRITER = `
const Database = require(process.env.BSQL);
const db = new Database(process.env.DB, { timeout: 10000 });
db.pragma('journal_mode = ' + process.env.MODE);
db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, batch INTEGER, payload BLOB)');
const insert = db.prepare('INSERT INTO t (batch, payload) VALUES (?, randomblob(300))');
const batch = db.transaction((n) => { for (let i = 0; i < 10; i++) insert.run(n); });
let n = 0;
process.on('SIGTERM', () => { process.stdout.write('commits ' + n + '\\n'); process.exit(0); });
process.stdout.write('ready\\n');
const wal = process.env.MODE === 'wal';
(function loop() {
  if (wal) { for (let k = 0; k < 20; k++) batch(++n); setImmediate(loop); }
  else { batch(++n); setTimeout(loop, 1); }
})();
`;

/** Numbers 0..? as a table `series(value)`. */
const SERIES = 'WITH RECURSIVE series(value) AS (SELECT 0 UNION ALL SELECT value + 1 FROM series WHERE value < ?)';

let dir: string;
let context: SourceContext;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-sqlite-'));
  const staging = join(dir, 'staging');
  await mkdir(staging);
  context = { config: { configDir: dir } as LoadedConfig, stagingDir: staging, log: silentLogger };
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Seeds `rows` rows (in batches of 10) so the copy spans many pages, then starts the writer. */
async function startWriter(file: string, mode: 'wal' | 'delete', rows: number): Promise<{ stop(): Promise<number> }> {
  const seed = new Database(file);
  seed.pragma(`journal_mode = ${mode}`);
  seed.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, batch INTEGER, payload BLOB)');
  seed.prepare(`${SERIES} INSERT INTO t (batch, payload) SELECT value / 10, randomblob(300) FROM series`).run(rows - 1);
  seed.close();
  const child = spawn(process.execPath, ['-e', WRITER], { env: { ...process.env, BSQL: BETTER_SQLITE3, DB: file, MODE: mode }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`writer exited early (${code}): ${out}`)));
    child.stdout!.on('data', () => out.includes('ready') && resolve());
  });
  return {
    stop: () => new Promise((resolve) => {
      child.removeAllListeners('exit');
      child.once('exit', () => resolve(Number(/commits (\d+)/.exec(out)?.[1] ?? 0)));
      child.kill('SIGTERM');
    }),
  };
}

function inspect(file: string): { integrity: string; rows: number; mode: string } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return {
      integrity: String(db.pragma('integrity_check', { simple: true })),
      rows: Number(db.prepare('SELECT count(*) AS n FROM t').pluck().get()),
      mode: String(db.pragma('journal_mode', { simple: true })),
    };
  } finally {
    db.close();
  }
}

describe.each([
  { mode: 'wal' as const, vacuum: false },
  { mode: 'wal' as const, vacuum: true },
  { mode: 'delete' as const, vacuum: false },
])('sqlite source in $mode mode (vacuum: $vacuum)', ({ mode, vacuum }) => {
  test('snapshots taken while another process keeps writing are intact and at a consistent point', async () => {
    const file = join(dir, `live-${mode}-${vacuum}.db`);
    const writer = await startWriter(file, mode, 20_000);
    const source = sqliteSourceSchema.parse({ sqlite: `live-${mode}-${vacuum}.db`, as: 'data/app.db', vacuum });
    const counts: number[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const prepared = await prepareSqliteSource(source, context);
        expect(prepared).toMatchObject({ as: 'data/app.db', kind: 'sqlite', origin: file, meta: { journal_mode: mode } });
        const snap = inspect(prepared.fsPath);
        expect(snap.integrity).toBe('ok');
        expect(snap.rows % 10).toBe(0);
        expect(snap.mode).toBe(mode);
        counts.push(snap.rows);
        await prepared.cleanup();
      }
    } finally {
      const commits = await writer.stop();
      expect(commits).toBeGreaterThan(0);
    }
    // The writer really was writing while the snapshots were taken.
    expect(counts[2]).toBeGreaterThanOrEqual(counts[0]!);
    expect(inspect(file).rows).toBeGreaterThan(counts[0]!);
    expect((await readdir(context.stagingDir)).length).toBe(0);
  });
});

describe('sqlite source failures', () => {
  test('a corrupt database fails with a message naming the source', async () => {
    const file = join(dir, 'corrupt.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); CREATE INDEX t_body ON t(body);');
    db.prepare(`${SERIES} INSERT INTO t (body) SELECT hex(randomblob(50)) FROM series`).run(1999);
    db.close();
    const fh = await open(file, 'r+');
    await fh.write(Buffer.alloc(2048, 0xa5), 0, 2048, 4096 * 5 + 100); // scribble over a b-tree page
    await fh.close();
    const source = sqliteSourceSchema.parse({ sqlite: 'corrupt.db' });
    await expect(prepareSqliteSource(source, context)).rejects.toThrow(/^source sqlite corrupt\.db: (database is corrupt, integrity_check failed: .*|database disk image is malformed) \(.*corrupt\.db\)$/);
    expect((await readdir(context.stagingDir)).length).toBe(0);
  });

  test('a file that is not a database fails with a message naming the source', async () => {
    await writeFile(join(dir, 'notadb.db'), 'x'.repeat(8192));
    const source = sqliteSourceSchema.parse({ sqlite: 'notadb.db' });
    await expect(prepareSqliteSource(source, context)).rejects.toThrow(/source sqlite notadb\.db: .*not a database/);
  });

  test('a missing database fails and is not created', async () => {
    const source = sqliteSourceSchema.parse({ sqlite: 'missing.db' });
    await expect(prepareSqliteSource(source, context)).rejects.toThrow(/source sqlite missing\.db: database file not found/);
    expect((await readdir(dir)).includes('missing.db')).toBe(false);
  });
});
