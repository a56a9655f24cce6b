import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../../src/config/load.js';
import { postgresSourceSchema } from '../../src/config/sources.js';
import { silentLogger } from '../../src/log.js';
import { splitConnInfo } from '../../src/config/pg-conninfo.js';
import { preparePostgresSource } from '../../src/pipeline/sources/postgres.js';
import { applyCommandLine, applyDump } from '../../src/restore/postgres-apply.js';
import { seedSampleDatabase, startPostgres, type PostgresServer } from '../servers/postgres.js';

let pg: PostgresServer;
let dir: string;
let argvLog: string;
const savedPath = process.env.PATH;

/**
 * pg_dump and psql on PATH are wrappers that record their argv (one
 * argument per line, NUL-terminated calls) and whether PGPASSWORD reached
 * them, then exec the real tool: the real server does the work.
 */
beforeAll(async () => {
  pg = await startPostgres();
  await seedSampleDatabase(pg, 'app');
  dir = await mkdtemp(join(tmpdir(), 'ferry-pgargv-'));
  argvLog = join(dir, 'argv.log');
  const bin = join(dir, 'bin');
  await import('node:fs/promises').then((fs) => fs.mkdir(bin));
  for (const tool of ['pg_dump', 'psql']) {
    const real = (await import('node:child_process')).execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    const script = `#!/bin/sh\n{ printf '%s\\n' "$0" "$@"; printf 'PGPASSWORD=%s\\n' "\${PGPASSWORD:+set}"; printf '\\0'; } >> '${argvLog}'\nexec '${real}' "$@"\n`;
    await writeFile(join(bin, tool), script);
    await chmod(join(bin, tool), 0o755);
  }
  process.env.PATH = `${bin}:${savedPath}`;
});

afterAll(async () => {
  process.env.PATH = savedPath;
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const calls = async () => (await readFile(argvLog, 'utf8').catch(() => '')).split('\0').filter((c) => c.trim());

describe('postgres passwords never reach a command line', () => {
  it('every connection-string form dumps through the real server with the password only in the environment', async () => {
    const pw = pg.password;
    const forms = {
      'TCP URL': pg.url('app'),
      'TCP URL with ?password=': `postgres://${pg.user}@${pg.host}:${pg.port}/app?password=${encodeURIComponent(pw)}&connect_timeout=10`,
      'Unix socket URL': `postgresql://${pg.user}:${encodeURIComponent(pw)}@/app?host=${encodeURIComponent(pg.socketDir)}&port=${pg.port}`,
      'keyword DSN over TCP': `host=${pg.host} port=${pg.port} user=${pg.user} password=${pw} dbname=app`,
      'keyword DSN on the socket, quoted password': `host=${pg.socketDir} port=${pg.port} user=${pg.user} password='${pw}' dbname=app`,
    };
    const context = { config: { configDir: dir } as LoadedConfig, stagingDir: dir, log: silentLogger };
    for (const [form, url] of Object.entries(forms)) {
      await rm(argvLog, { force: true });
      const source = postgresSourceSchema.parse({ postgres: { url } });
      const prepared = await preparePostgresSource(source, context);
      expect(prepared.as, form).toBe('db/app.sql');
      expect((await readFile(prepared.fsPath, 'utf8')).length, form).toBeGreaterThan(1000);

      const restored = `restored_${Object.keys(forms).indexOf(form)}`;
      await pg.psql(`CREATE DATABASE ${restored}`);
      const into = postgresSourceSchema.parse({ postgres: { url: url.replace(/(\/|dbname=)app\b/, `$1${restored}`) } });
      await applyDump(prepared.fsPath, 'plain', into, silentLogger);
      expect((await pg.psql('SELECT count(*) FROM big', restored)).trim(), form).toBe('100000');
      expect(applyCommandLine('plain', prepared.fsPath, into, undefined), form).not.toContain(pw);
      await prepared.cleanup();

      const seen = await calls();
      expect(seen.map((c) => c.split('\n')[0]!.split('/').pop()), form).toEqual(['pg_dump', 'psql']);
      for (const call of seen) {
        expect(call, form).not.toContain(pw);
        expect(call, form).toContain('PGPASSWORD=set');
      }
    }
  }, 120_000);

  it('the password is stripped from every spelling libpq accepts, and nothing else changes', () => {
    const table: [string, string, string | undefined, string | undefined][] = [
      ['postgres://u:p%40ss@h:5432/db?sslmode=require', 'postgres://u@h:5432/db?sslmode=require', 'p@ss', 'db'],
      ['postgresql:///db?host=/run/postgresql&user=u&password=x', 'postgresql:///db?host=/run/postgresql&user=u', 'x', 'db'],
      ['postgres://:pw@h1,h2:5433/db', 'postgres://h1,h2:5433/db', 'pw', 'db'],
      ['postgres://u:p@/db?host=%2Frun%2Fpostgresql', 'postgres://u@/db?host=%2Frun%2Fpostgresql', 'p', 'db'],
      ["host=/run/postgresql user=u password='a b\\' c' dbname=d", 'host=/run/postgresql user=u dbname=d', "a b' c", 'd'],
      [' host = h  password = x ', 'host=h', 'x', undefined],
      ['password=x not-a-pair', 'not-a-pair', 'x', undefined],
      ['dbname=d', 'dbname=d', undefined, 'd'],
      ['mydb', 'mydb', undefined, undefined],
    ];
    for (const [input, conninfo, password, dbname] of table) expect(splitConnInfo(input), input).toEqual({ conninfo, password, dbname });
  });
});
