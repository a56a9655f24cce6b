import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { craftTarGz } from '../helpers/archive.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');
const sh = (cmd: string, cwd: string) => execFileSync('/bin/sh', ['-c', cmd], { cwd, encoding: 'utf8' });

/**
 * A separate process writing to a WAL database without pause: each
 * transaction inserts exactly 10 rows, so a consistent snapshot holds a
 * multiple of 10. Prints "ready" once writing and "commits <n>" on SIGTERM.
 */
const WRITER = `
const db = new (require(process.env.BSQL))(process.env.DB, { timeout: 10000 });
const insert = db.prepare('INSERT INTO t (batch, payload) VALUES (?, randomblob(300))');
const batch = db.transaction((n) => { for (let i = 0; i < 10; i++) insert.run(n); });
let n = 0;
process.on('SIGTERM', () => { process.stdout.write('commits ' + n + '\\n'); process.exit(0); });
process.stdout.write('ready\\n');
(function loop() { for (let k = 0; k < 20; k++) batch(++n); setImmediate(loop); })();
`;

/** Creates a WAL database with table t holding `rows` rows (a multiple of 10). */
function seedDatabase(file: string, rows: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, batch INTEGER, payload BLOB)');
  db.prepare(`WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < ?)
              INSERT INTO t (batch, payload) SELECT v / 10, randomblob(300) FROM s`).run(rows - 1);
  db.close();
}

function inspect(file: string): { integrity: string; rows: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return { integrity: String(db.pragma('integrity_check', { simple: true })), rows: Number(db.prepare('SELECT count(*) FROM t').pluck().get()) };
  } finally {
    db.close();
  }
}

/** The app copy, the live database and a command's output, to a local target. */
const sourcesConfig = () => basicConfig({
  sources: [
    { path: './app', as: 'app' },
    { sqlite: './live.db', as: 'db/live.db' },
    { command: 'echo inventory of things', as: 'inventory/things.txt' },
  ],
});

describe('database and command sources through the CLI', () => {
  let ws: Workspace;
  const children: ChildProcess[] = [];
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await ws.cleanup();
  });

  it('backs up a WAL database while another process keeps writing; the restored copy passes integrity_check at a consistent point', async () => {
    const live = join(ws.dir, 'live.db');
    seedDatabase(live, 20_000);
    const child = spawn(process.execPath, ['-e', WRITER], { env: { ...process.env, BSQL: BETTER_SQLITE3, DB: live }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
      child.stdout!.on('data', () => out.includes('ready') && resolve());
    });

    await ws.writeConfig(sourcesConfig());
    const run = await ws.run(['run']);
    child.removeAllListeners('exit');
    const stopped = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await stopped;
    expect(run.code, run.stderr).toBe(0);
    const commits = Number(/commits (\d+)/.exec(out)?.[1]);
    expect(commits).toBeGreaterThan(0);

    const restored = await ws.run(['restore', '--source', 'db/live.db', '--to', 'out']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(sh('find out -type f', ws.dir).trim()).toBe('out/db/live.db');
    const snapshot = inspect(join(ws.dir, 'out/db/live.db'));
    expect(snapshot.integrity).toBe('ok');
    expect(snapshot.rows % 10).toBe(0);
    expect(snapshot.rows).toBeGreaterThanOrEqual(20_000);
    expect(snapshot.rows).toBeLessThanOrEqual(20_000 + commits * 10);
  });

  it('--in-place puts back only the database: the old one (with its WAL) sits beside it, other live files are untouched', async () => {
    const live = join(ws.dir, 'live.db');
    seedDatabase(live, 100);
    await ws.writeConfig(sourcesConfig());
    const run = await ws.run(['run']);
    expect(run.code, run.stderr).toBe(0);

    // After the backup: the app changes its files, and 50 rows sit only in the database's -wal file.
    await writeFile(join(ws.dir, 'app/logs/app.log'), 'written after the backup\n', { flag: 'a' });
    await writeFile(join(ws.dir, 'app/new-upload.txt'), 'new');
    const appBefore = sh('find app -exec stat -c "%n %s %Y %a" {} + | sort && cat app/logs/app.log', ws.dir);
    const writer = new Database(live);
    writer.pragma('wal_autocheckpoint = 0');
    writer.prepare('WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 50) INSERT INTO t (batch) SELECT 999 FROM s').run();
    try {
      const restored = await ws.run(['restore', 'latest', '--source', 'db/live.db', '--in-place']);
      expect(restored.code, restored.stderr).toBe(0);
      const previous = /the previous data was moved to (\S+live\.db\.pre-restore-\d{8}T\d{6}Z)$/m.exec(restored.stdout)?.[1];
      expect(previous, restored.stdout).toBeDefined();
      expect(restored.stdout).toContain(`${previous}-wal`);

      expect(inspect(live)).toEqual({ integrity: 'ok', rows: 100 });
      expect(inspect(previous!)).toEqual({ integrity: 'ok', rows: 150 });
      expect(sh('find app -exec stat -c "%n %s %Y %a" {} + | sort && cat app/logs/app.log', ws.dir)).toBe(appBefore);
      expect((await readdir(ws.dir)).filter((n) => n.includes('ferry-'))).toEqual([]);
    } finally {
      writer.close();
    }
  });

  it('--in-place never puts back a database that fails integrity_check: the live one stays as it was', async () => {
    const live = join(ws.dir, 'live.db');
    seedDatabase(live, 100);
    await ws.writeConfig(sourcesConfig());
    // A well-formed archive (its sha256 matches the manifest) whose database is not a database.
    const source = { as: 'db/live.db', kind: 'sqlite', origin: live, files: 1, bytes: 8192 };
    const inventory = { format: 'ferry-inventory/1', job: 'app', sources: [{ ...source, entries: [] }], warnings: [], commands: {} };
    const bytes = craftTarGz([{ path: 'db/live.db', data: 'x'.repeat(8192) }, { path: 'inventory.json', data: JSON.stringify(inventory) }]);
    const name = 'app-20260101T000000Z.tar.gz';
    await mkdir(join(ws.dir, 'backups'));
    await writeFile(join(ws.dir, 'backups', name), bytes);
    await writeFile(join(ws.dir, 'backups', `${name}.manifest.json`), JSON.stringify({
      format: 'ferry/1', job: 'app', archive: name, created: '2026-01-01T00:00:00.000Z', size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'), encrypted: false, compression: { algorithm: 'gzip', level: 6 },
      host: 'test', sources: [source], warnings: 0, ferry_version: 'test',
    }));
    const liveBytes = await readFile(live);

    const restored = await ws.run(['restore', name, '--source', 'db/live.db', '--in-place']);
    expect(restored.code).toBe(1);
    expect(restored.stderr).toMatch(/restored database "db\/live\.db" cannot be read: file is not a database; the live database was not touched/);
    expect(await readFile(live)).toEqual(liveBytes);
    expect(inspect(live)).toEqual({ integrity: 'ok', rows: 100 });
    expect((await readdir(ws.dir)).filter((n) => n.includes('pre-restore') || n.includes('ferry-'))).toEqual([]);
  });

  it('--in-place refuses a command\'s output and names the sources when asked for one the archive lacks', async () => {
    seedDatabase(join(ws.dir, 'live.db'), 10);
    await ws.writeConfig(sourcesConfig());
    expect((await ws.run(['run'])).code).toBe(0);
    const command = await ws.run(['restore', '--source', 'inventory/things.txt', '--in-place']);
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/command's output and has no original place; restore it with --source inventory\/things\.txt --to DIR/);
    const missing = await ws.run(['restore', '--source', 'db/other.db', '--in-place']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('holds no source "db/other.db" (its sources: app, db/live.db, inventory/things.txt)');
    const output = await ws.run(['restore', '--source', 'inventory/things.txt', '--to', 'out']);
    expect(output.code, output.stderr).toBe(0);
    expect(await readFile(join(ws.dir, 'out/inventory/things.txt'), 'utf8')).toBe('inventory of things\n');
  });

  it('--list-sources shows each source with its kind, file count, size and origin, needing no --to', async () => {
    seedDatabase(join(ws.dir, 'live.db'), 10);
    await ws.writeConfig(sourcesConfig());
    expect((await ws.run(['run'])).code).toBe(0);

    const human = await ws.run(['restore', '--list-sources']);
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^app-\d{8}T\d{6}Z\.tar\.gz on local$/);
    expect(lines[1]).toMatch(/^AS\s+KIND\s+FILES\s+SIZE\s+ORIGIN$/);
    expect(lines[2]).toMatch(new RegExp(`^app\\s+path\\s+\\d+\\s+\\S+ \\S*B\\s+${join(ws.dir, 'app')}$`));
    expect(lines[3]).toMatch(new RegExp(`^db/live\\.db\\s+sqlite\\s+1\\s+\\S+ \\S*B\\s+${join(ws.dir, 'live.db')}$`));
    expect(lines[4]).toMatch(/^inventory\/things\.txt\s+command\s+1\s+20 B\s+a command's output$/);

    const json = await ws.run(['--json', 'restore', 'latest', '--list-sources']);
    expect(json.code, json.stderr).toBe(0);
    const listed = JSON.parse(json.stdout) as { read_from: string; sources: { as: string; kind: string; files: number; bytes: number; origin?: string }[] };
    expect(listed.read_from).toBe('inventory');
    expect(listed.sources.map((s) => [s.as, s.kind, s.origin])).toEqual([
      ['app', 'path', join(ws.dir, 'app')],
      ['db/live.db', 'sqlite', join(ws.dir, 'live.db')],
      ['inventory/things.txt', 'command', undefined],
    ]);
    expect(listed.sources[2]).toMatchObject({ files: 1, bytes: 20 });

    const noTo = await ws.run(['restore']);
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toMatch(/--to <dir>' not specified \(or pass --in-place or --list-sources\)/);
  });
});
