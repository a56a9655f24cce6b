import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { startPostgres, type PostgresServer } from '../servers/postgres.js';

let pg: PostgresServer;
beforeAll(async () => {
  pg = await startPostgres();
  await pg.psql('CREATE DATABASE app');
});
afterAll(async () => { await pg?.stop(); });

/** A database whose b-tree pages were scribbled over after it was written: it opens, but integrity_check fails. */
async function corruptDatabase(file: string): Promise<void> {
  const db = new Database(file);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); CREATE INDEX t_body ON t(body);');
  db.prepare('WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < 1999) INSERT INTO t (body) SELECT hex(randomblob(50)) FROM s').run();
  db.close();
  const fh = await open(file, 'r+');
  await fh.write(Buffer.alloc(2048, 0xa5), 0, 2048, 4096 * 5 + 100);
  await fh.close();
}

/** Every case keeps the app source and the after hook, and adds one thing that breaks the run. */
const AFTER = 'echo "$FERRY_STATUS $FERRY_JOB" > after-ran.txt';

describe('a failing step fails the run: exit 1, a clear message, no new archive, and the after hook still runs', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  const cases: { name: string; setup?: (dir: string) => Promise<void>; config: () => Record<string, unknown>; message: RegExp }[] = [
    {
      name: 'a before hook that exits non-zero',
      config: () => ({ hooks: { before: ['echo stopping the app >&2; exit 4'], after: [AFTER] } }),
      message: /hook "echo stopping the app >&2; exit 4" exited with 4: stopping the app/,
    },
    {
      name: 'pg_dump with a wrong password',
      config: () => ({
        sources: [{ path: './app', as: 'app' }, { postgres: { url: pg.url('app').replace(/:[^:@/]+@/, ':wrong-password@') }, as: 'db/app.sql' }],
        hooks: { after: [AFTER] },
      }),
      message: /source postgres app: pg_dump exited with 1: .*password authentication failed for user "ferry"/,
    },
    {
      name: 'a corrupt SQLite database',
      setup: (dir) => corruptDatabase(join(dir, 'broken.db')),
      config: () => ({ sources: [{ path: './app', as: 'app' }, { sqlite: './broken.db', as: 'db/broken.db' }], hooks: { after: [AFTER] } }),
      message: /source sqlite \.\/broken\.db: (database is corrupt, integrity_check failed: .*|database disk image is malformed)/,
    },
  ];

  it.each(cases)('$name', async ({ setup, config, message }) => {
    // One good archive first, so "no new archive" is checked against a target that already holds one.
    await ws.writeConfig(basicConfig({ hooks: { after: [AFTER] } }));
    const good = await ws.run(['run']);
    expect(good.code, good.stderr).toBe(0);
    expect(await readFile(join(ws.dir, 'after-ran.txt'), 'utf8')).toBe('success app\n');
    const before = (await readdir(join(ws.dir, 'backups'))).sort();

    await setup?.(ws.dir);
    await ws.writeConfig(basicConfig(config()));
    const bad = await ws.run(['run']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(message);
    expect(bad.stdout + bad.stderr).not.toContain(pg.password);
    expect((await readdir(join(ws.dir, 'backups'))).sort()).toEqual(before);
    expect(await readFile(join(ws.dir, 'after-ran.txt'), 'utf8')).toBe('failure app\n');
  });
});
