import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostgresServer {
  host: string;
  port: number;
  /** A superuser role that logs in with `password` over TCP (scram-sha-256). */
  user: string;
  password: string;
  /** Directory of the server's Unix socket (local socket connections are trusted). */
  socketDir: string;
  /** `postgres://user:password@127.0.0.1:port/dbname`. */
  url(dbname: string): string;
  /** Runs SQL with psql as `user` over TCP and returns its unaligned, tuples-only output. */
  psql(sql: string, db?: string): Promise<string>;
  /** Runs a SQL file with psql (ON_ERROR_STOP). */
  psqlFile(file: string, db?: string): Promise<string>;
  /** Stops the server (`pg_ctl stop -m fast`) and deletes its data directory. */
  stop(): Promise<void>;
}

/** Directory of the newest PostgreSQL server binaries (Debian layout). */
async function pgBinDir(): Promise<string> {
  const root = '/usr/lib/postgresql';
  const versions = (await readdir(root).catch(() => [])).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error(`PostgreSQL server not found under ${root}; install the postgresql package (test/run.sh does)`);
  return join(root, versions[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throwaway PostgreSQL server: `initdb` into a temp dir, then
 * `pg_ctl start` listening on 127.0.0.1 at a free port, with its socket in
 * the temp dir. initdb refuses to run as root, so under root the server runs
 * as the `postgres` OS user. Local socket connections are trusted; TCP needs
 * a password, so a wrong one can be tested. Durability is off for speed.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = await pgBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'ferry-pg-'));
  const asRoot = process.getuid?.() === 0;
  const as = async (file: string, args: string[]) => {
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    return run(cmd, argv, { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  };
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await chmod(dir, 0o700);

  const data = join(dir, 'data');
  const user = 'ferry';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const port = await freePort();
  await as(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync']);
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB`;
  await as(join(bin, 'pg_ctl'), ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'server.log'), '-o', opts]);

  const stop = async () => {
    await as(join(bin, 'pg_ctl'), ['stop', '-m', 'fast', '-w', '-D', data]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const sql = `CREATE ROLE ${user} LOGIN SUPERUSER PASSWORD '${password}';`;
    await as(join(bin, 'psql'), ['-X', '-q', '-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
  } catch (err) {
    await stop();
    throw err;
  }

  const host = '127.0.0.1';
  const psqlArgs = (db: string) => ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', user, '-d', db];
  const env = { ...process.env, PGPASSWORD: password };
  const psql = async (args: string[]) => (await run(join(bin, 'psql'), args, { env, maxBuffer: 256 * 1024 * 1024 })).stdout;
  return {
    host,
    port,
    user,
    password,
    socketDir: dir,
    url: (dbname) => `postgres://${user}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(dbname)}`,
    psql: (sql, db = 'postgres') => psql([...psqlArgs(db), '-c', sql]),
    psqlFile: (file, db = 'postgres') => psql([...psqlArgs(db), '-f', file]),
    stop,
  };
}

/** Non-ASCII and quoting edge cases stored by `seedSampleDatabase`. */
export const SAMPLE_NOTES = ['Grüße aus Köln', '日本語のテキスト', 'emoji 🎧🎶', "quote ' and \\ backslash", 'Ελληνικά'];

/** Creates `db` with a 100k-row table `big` and a table `notes` of non-ASCII text. */
export async function seedSampleDatabase(pg: PostgresServer, db: string): Promise<void> {
  await pg.psql(`CREATE DATABASE ${db}`);
  await pg.psql(
    `CREATE TABLE big (id int PRIMARY KEY, label text NOT NULL);
     INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 100000) g;
     CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);
     INSERT INTO notes (body) VALUES ${SAMPLE_NOTES.map((n) => `('${n.replace(/'/g, "''")}')`).join(', ')};`,
    db,
  );
}

/** Row count, a hash of every row of `big`, and the notes in order: equal fingerprints mean equal data. */
export function sampleFingerprint(pg: PostgresServer, db: string): Promise<string> {
  return pg.psql(`SELECT (SELECT count(*) FROM big) || ':' || (SELECT md5(string_agg(id || label, ',' ORDER BY id)) FROM big)
             || ':' || (SELECT string_agg(body, '|' ORDER BY id) FROM notes)`, db);
}
