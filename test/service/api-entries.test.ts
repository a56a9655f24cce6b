import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { startFerry, type Background } from './process.js';

const TOKEN = 'test-token-entries-0123456789';

describe('GET /api/archives/:name/entries', () => {
  let ws: Workspace;
  let server: Background;
  let base: string;
  let archive: string;
  const get = (path: string) => fetch(base + path, { headers: { Authorization: `Bearer ${TOKEN}` } });

  beforeAll(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig({ api: { token: '${FERRY_API_TOKEN}' }, encryption: { passphrase: '${FERRY_PASSPHRASE}' } }));
    const env = { FERRY_API_TOKEN: TOKEN, FERRY_PASSPHRASE: 'api passphrase' };
    expect((await ws.run(['run'], env)).code).toBe(0);
    archive = (await readdir(join(ws.dir, 'backups'))).find((f) => f.endsWith('Z.tar.gz.age'))!;
    server = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir, env);
    const m = await server.waitFor(/"listening": "([^"]+)"/);
    base = `http://${m[1]}`;
  });
  afterAll(async () => {
    await server?.stop();
    await ws?.cleanup();
  });

  it('lists one directory of an encrypted archive from its sidecar, with the configured passphrase', async () => {
    const res = await get(`/api/archives/${archive}/entries?path=app/logs&target=local`);
    expect(res.status).toBe(200);
    const body = await res.json() as { archive: string; target: string; path: string; read_from: string; entries: { path: string; type: string }[] };
    expect(body).toMatchObject({ archive, target: 'local', path: 'app/logs', read_from: 'index' });
    expect(body.entries.map((e) => [e.path, e.type])).toEqual([['app/logs/app.log', 'file'], ['app/logs/error.log', 'file']]);
    const top = await (await get('/api/archives/latest/entries')).json() as { entries: { path: string }[] };
    expect(top.entries.map((e) => e.path)).toEqual(['app', 'inventory.json', 'inventory.txt']);
  });

  it('answers 404 for a path the archive does not hold, 400 for unknown query fields or a name that is not an archive, and still serves manifests', async () => {
    expect((await get(`/api/archives/${archive}/entries?path=app/nope`)).status).toBe(404);
    expect((await get(`/api/archives/${archive}/entries?recursive=1`)).status).toBe(400);
    expect((await get('/api/archives/..%2Fetc/entries')).status).toBe(400);
    expect((await get(`/api/archives/${archive}/entries?target=nowhere`)).status).toBe(400);
    const manifest = await get(`/api/archives/local/${archive}`);
    expect(manifest.status).toBe(200);
    expect((await manifest.json() as { index?: { name: string } }).index?.name).toBe(`${archive}.index.jsonl.gz.age`);
  });
});
