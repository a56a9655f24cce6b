import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { startFerry, type Background } from '../service/process.js';

const TOKEN = 'test-token-incremental-0123456789';

describe('incremental archives in the REST API and metrics', () => {
  let ws: Workspace;
  let server: Background;
  let base: string;
  const archives: string[] = [];
  const api = (path: string) => fetch(base + path, { headers: { Authorization: `Bearer ${TOKEN}` } });

  beforeAll(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig({ incremental: { full_every: 7 }, api: { token: '${FERRY_API_TOKEN}' } }));
    for (const change of ['', 'changed\n']) {
      if (change) await writeFile(join(ws.dir, 'app/new.txt'), change);
      const r = await ws.run(['run', '--json'], { FERRY_API_TOKEN: TOKEN });
      expect(r.code, r.stderr).toBe(0);
      archives.push(JSON.parse(r.stdout).archive);
    }
    server = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir, { FERRY_API_TOKEN: TOKEN });
    base = `http://${(await server.waitFor(/"listening": "([^"]+)"/))[1]}`;
  });
  afterAll(async () => {
    await server?.stop();
    await ws?.cleanup();
  });

  it('/api/archives gives each archive its level and parent', async () => {
    const listing = await (await api('/api/archives?target=local')).json() as { targets: { archives: { name: string; level?: number; parent?: string }[] }[] };
    expect(listing.targets[0]!.archives).toMatchObject([
      { name: archives[0], level: 0 },
      { name: archives[1], level: 1, parent: archives[0] },
    ]);
  });

  it('/metrics has ferry_chain_length for the last run, next to ferry_last_archive_bytes', async () => {
    const text = await (await api('/metrics')).text();
    expect(text).toMatch(/^# TYPE ferry_chain_length gauge$/m);
    expect(text).toMatch(/^ferry_chain_length\{job="app"\} 2$/m);
    expect(text).toMatch(/^ferry_last_archive_bytes\{job="app"\} [1-9]\d*$/m);
  });
});
