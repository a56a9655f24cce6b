import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LoadedConfig } from '../../src/config/load.js';
import { postgresSourceSchema, type PostgresSource } from '../../src/config/sources.js';
import { silentLogger } from '../../src/log.js';
import { pgDumpCommand, preparePostgresSource } from '../../src/pipeline/sources/postgres.js';
import type { SourceContext } from '../../src/pipeline/sources/types.js';
import { sampleFingerprint, seedSampleDatabase, startPostgres, type PostgresServer } from '../servers/postgres.js';

let pg: PostgresServer;
let dir: string;
let context: SourceContext;

beforeAll(async () => {
  pg = await startPostgres();
  dir = await mkdtemp(join(tmpdir(), 'ferry-pgsrc-'));
  context = { config: { configDir: dir } as LoadedConfig, stagingDir: dir, log: silentLogger };
  await seedSampleDatabase(pg, 'app');
});

afterAll(async () => {
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const source = (postgres: Record<string, unknown>, extra: Record<string, unknown> = {}): PostgresSource =>
  postgresSourceSchema.parse({ postgres, ...extra });

const fingerprint = (db: string) => sampleFingerprint(pg, db);

describe('postgres source', () => {
  test('a plain dump of 100k rows and non-ASCII text restores into a fresh database with the same data', async () => {
    const prepared = await preparePostgresSource(source({ url: pg.url('app') }), context);
    expect(prepared).toMatchObject({ as: 'db/app.sql', kind: 'postgres', meta: { dbname: 'app', format: 'plain' } });
    await pg.psql('CREATE DATABASE restored');
    await pg.psqlFile(prepared.fsPath, 'restored');
    const expected = await fingerprint('app');
    expect(expected).toContain('100000:');
    expect(expected).toContain('Grüße aus Köln|日本語のテキスト|emoji 🎧🎶');
    expect(await fingerprint('restored')).toBe(expected);
    await prepared.cleanup();
    await expect(readFile(prepared.fsPath)).rejects.toThrow(/ENOENT/);
  });

  test('host/port/user/dbname with a password option makes a custom-format dump', async () => {
    const prepared = await preparePostgresSource(
      source({ host: pg.host, port: pg.port, user: pg.user, dbname: 'app', password: pg.password, format: 'custom' }),
      context,
    );
    expect(prepared.meta).toMatchObject({ dbname: 'app', format: 'custom' });
    const head = await readFile(prepared.fsPath);
    expect(head.subarray(0, 5).toString()).toBe('PGDMP');
    await prepared.cleanup();
  });

  test('a wrong password fails with pg_dump stderr and never shows the password', async () => {
    const wrong = 'not-the-password-42';
    const url = pg.url('app').replace(encodeURIComponent(pg.password), wrong);
    const err = await preparePostgresSource(source({ url }), context).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/source postgres app: pg_dump exited with 1: .*password authentication failed for user "ferry"/s);
    expect((err as Error).message).not.toContain(wrong);
  });

  test('a missing database fails with pg_dump stderr', async () => {
    await expect(preparePostgresSource(source({ url: pg.url('nope') }), context)).rejects.toThrow(/database "nope" does not exist/);
  });

  test('the password is passed in PGPASSWORD, never in the arguments', () => {
    const cmd = pgDumpCommand(source({ url: 'postgres://u:s3cr%40t@db.lan:5433/app' }).postgres);
    expect(cmd.args.join(' ')).not.toMatch(/s3cr/);
    expect(cmd.args).toContain('postgres://u@db.lan:5433/app');
    expect(cmd.env.PGPASSWORD).toBe('s3cr@t');
    const viaOption = pgDumpCommand(source({ host: 'h', user: 'u', dbname: 'd', password: 'pw' }).postgres);
    expect(viaOption.args).toEqual(['--no-password', '-Fp', '--dbname', 'd', '--host', 'h', '--username', 'u']);
    expect(viaOption.env.PGPASSWORD).toBe('pw');
  });

  test('a config with both url and host is rejected', () => {
    const r = postgresSourceSchema.safeParse({ postgres: { url: 'postgres://h/db', host: 'other' } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['postgres', 'url'], message: 'set either url or host/port/user/dbname, not both' });
  });

  test('an aborted dump stops pg_dump and leaves no staging file', async () => {
    const controller = new AbortController();
    const promise = preparePostgresSource(source({ url: pg.url('app') }), { ...context, signal: controller.signal });
    controller.abort();
    await expect(promise).rejects.toThrow(/cancelled/);
    expect((await readdir(dir)).filter((f) => f.startsWith('pgdump-'))).toEqual([]);
  });
});
