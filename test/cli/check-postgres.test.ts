import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { startPostgres, type PostgresServer } from '../servers/postgres.js';

let pg: PostgresServer;
let ws: Workspace;

beforeAll(async () => {
  [pg, ws] = await Promise.all([startPostgres(), workspace()]);
  await pg.psql('CREATE DATABASE app');
});
afterAll(async () => {
  await Promise.all([pg?.stop(), ws?.cleanup()]);
});

const config = () => basicConfig({
  sources: [{ path: './app' }, { postgres: { host: pg.host, port: pg.port, user: pg.user, dbname: 'app', password: '${PGPW}' }, as: 'db/app.sql' }],
});

describe('ferry check with a PostgreSQL source', () => {
  it('connects with the configured credentials, as pg_dump will tonight', async () => {
    await ws.writeConfig(config());
    const r = await ws.run(['check'], { PGPW: pg.password });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sources\.1 \(postgres db\/app\.sql\): ok — pg_dump connected to app and read the schema/);
  });

  it('a wrong password fails check with exit 1, quoting the server and never the password', async () => {
    const wrong = `not-${pg.password}`;
    await ws.writeConfig(config());
    const r = await ws.run(['check'], { PGPW: wrong });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/sources\.1 \(postgres db\/app\.sql\): FAILED: pg_dump exited with 1: .*password authentication failed for user "ferry"/);
    expect(r.stdout).toMatch(/tonight's run would not succeed: sources\.1/);
    expect(r.stdout + r.stderr).not.toContain(wrong);
  });

  it('a database that does not exist fails check', async () => {
    await ws.writeConfig(basicConfig({ sources: [{ postgres: { url: pg.url('nosuchdb') }, as: 'db/x.sql' }] }));
    const r = await ws.run(['check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/database "nosuchdb" does not exist/);
    expect(r.stdout + r.stderr).not.toContain(pg.password);
  });
});
