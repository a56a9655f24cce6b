import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { sampleFingerprint, seedSampleDatabase, startPostgres, type PostgresServer } from '../servers/postgres.js';

let pg: PostgresServer;
let ws: Workspace;

beforeAll(async () => {
  [pg, ws] = await Promise.all([startPostgres(), workspace()]);
  await seedSampleDatabase(pg, 'app');
});

afterAll(async () => {
  await Promise.all([pg?.stop(), ws?.cleanup()]);
});

const fingerprint = (db: string) => sampleFingerprint(pg, db);

const archives = async () => (await readdir(join(ws.dir, 'backups'))).filter((f) => f.endsWith('Z.tar.gz')).sort();

describe('postgres source through the CLI', () => {
  it('dumps a live database (100k rows, non-ASCII text) and --apply loads it into a fresh database with the same data', async () => {
    // The config names the database through the environment, so the restore can point it at a new one.
    await ws.writeConfig(basicConfig({ sources: [{ postgres: { url: '${DATABASE_URL}' }, as: 'db/app.sql' }] }));
    const run = await ws.run(['run'], { DATABASE_URL: pg.url('app') });
    expect(run.code, run.stderr).toBe(0);

    await pg.psql('CREATE DATABASE fresh');
    const restored = await ws.run(['restore', 'latest', '--source', 'db/app.sql', '--in-place', '--apply'], { DATABASE_URL: pg.url('fresh') });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/^applied db\/app\.sql \(postgres\) from app-\d{8}T\d{6}Z\.tar\.gz on local to database fresh$/m);
    expect(restored.stdout + restored.stderr).not.toContain(pg.password);

    const expected = await fingerprint('app');
    expect(expected).toMatch(/^100000:[0-9a-f]{32}:Grüße aus Köln\|日本語のテキスト\|emoji 🎧🎶/);
    expect(await fingerprint('fresh')).toBe(expected);

    // Applying again meets the tables it made: psql's error is shown, and nothing changes (one transaction).
    const again = await ws.run(['restore', '--source', 'db/app.sql', '--in-place', '--apply'], { DATABASE_URL: pg.url('fresh') });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/psql exited with 3: .*relation "big" already exists/s);
    expect(again.stderr).toContain('apply the dump to an empty database');
    expect(again.stderr).not.toContain(pg.password);
    expect(await fingerprint('fresh')).toBe(expected);
  });

  it('without --apply, a custom-format dump is written out with a pg_restore command line that holds no password', async () => {
    await ws.writeConfig(basicConfig({
      sources: [{
        postgres: { host: pg.host, port: pg.port, user: pg.user, dbname: '${PGDB:-app}', password: '${PGPW}', format: 'custom' },
        as: 'db/app.dump',
      }],
    }));
    const env = { PGPW: pg.password };
    const run = await ws.run(['run'], env);
    expect(run.code, run.stderr).toBe(0);

    const written = await ws.run(['restore', '--source', 'db/app.dump', '--in-place', '--to', 'dumps'], env);
    expect(written.code, written.stderr).toBe(0);
    const file = join(ws.dir, 'dumps', 'app.dump');
    expect(written.stdout).toContain(`wrote db/app.dump (postgres) from ${(await archives()).at(-1)} on local to ${file}`);
    expect(written.stdout).toContain(`pg_restore --exit-on-error --single-transaction --dbname app --host ${pg.host} --port ${pg.port} --username ${pg.user} ${file}`);
    expect(written.stdout + written.stderr).not.toContain(pg.password);
    expect(execFileSync('pg_restore', ['--list', file], { encoding: 'utf8' })).toMatch(/TABLE DATA public big/);

    const exists = await ws.run(['restore', '--source', 'db/app.dump', '--in-place', '--to', 'dumps'], env);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toContain(`${file} already exists; pass --force`);

    await pg.psql('CREATE DATABASE fresh_custom');
    const applied = await ws.run(['restore', '--source', 'db/app.dump', '--in-place', '--apply'], { ...env, PGDB: 'fresh_custom' });
    expect(applied.code, applied.stderr).toBe(0);
    expect(await fingerprint('fresh_custom')).toBe(await fingerprint('app'));
  });
});
