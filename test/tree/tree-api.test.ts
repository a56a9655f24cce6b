import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { listTree } from '../helpers/tree-listing.js';
import { startFerry, type Background } from '../service/process.js';

const TOKEN = 'test-token-tree-api-0123456789';
const SNAPSHOT = /^app-\d{8}T\d{6}Z$/;

describe('the API and metrics of a job whose only target keeps snapshots (format: tree)', () => {
  let ws: Workspace;
  let server: Background;
  let base: string;
  let snapshots: string[];
  let bytes: number;
  const get = (path: string, init: RequestInit = {}) => fetch(base + path, { ...init, headers: { Authorization: `Bearer ${TOKEN}` } });
  const json = async <T>(path: string): Promise<T> => {
    const res = await get(path);
    expect(res.status, path).toBe(200);
    return await res.json() as T;
  };

  beforeAll(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig({
      api: { token: '${FERRY_API_TOKEN}' },
      targets: { snap: { type: 'local', path: './snapshots', keep: 7, format: 'tree' } },
    }));
    for (let i = 0; i < 2; i++) {
      const r = await ws.run(['run'], { FERRY_API_TOKEN: TOKEN });
      expect(r.code, r.stderr).toBe(0);
    }
    snapshots = readdirSync(join(ws.dir, 'snapshots')).filter((n) => SNAPSHOT.test(n)).sort();
    expect(snapshots).toHaveLength(2);
    bytes = listTree(join(ws.dir, 'app')).reduce((sum, e) => sum + (e.size ?? 0), 0);
    server = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir, { FERRY_API_TOKEN: TOKEN });
    base = `http://${(await server.waitFor(/"listening": "([^"]+)"/))[1]}`;
  });
  afterAll(async () => {
    await server?.stop();
    await ws?.cleanup();
  });

  it('GET /api/archives lists each snapshot like an archive, marked "layout": "tree", with the bytes of its files', async () => {
    const body = await json<{ job: string; targets: { target: string; archives: Record<string, unknown>[]; incomplete: number }[] }>('/api/archives');
    expect(body.job).toBe('app');
    expect(body.targets).toHaveLength(1);
    expect(body.targets[0]).toMatchObject({ target: 'snap', incomplete: 0 });
    expect(body.targets[0]!.archives).toEqual(snapshots.map((name) => ({
      name, size: bytes, created: expect.any(String), encrypted: false, layout: 'tree',
    })));
  });

  it('GET /api/archives/:target/:name gives the snapshot\'s manifest, and /entries lists its directories', async () => {
    const manifest = await json<Record<string, unknown>>(`/api/archives/snap/${snapshots[1]}`);
    expect(manifest).toMatchObject({ format: 'ferry/1', job: 'app', archive: snapshots[1], layout: 'tree', encrypted: false, size: bytes });
    const top = await json<{ archive: string; entries: { path: string; type: string }[] }>('/api/archives/latest/entries');
    expect(top.archive).toBe(snapshots[1]);
    expect(top.entries.map((e) => [e.path, e.type])).toEqual([['app', 'dir'], ['inventory.json', 'file'], ['inventory.txt', 'file']]);
    const logs = await json<{ entries: { path: string }[] }>(`/api/archives/${snapshots[0]}/entries?path=app/logs&target=snap`);
    expect(logs.entries.map((e) => e.path)).toEqual(['app/logs/app.log', 'app/logs/error.log']);
  });

  it('GET /api/status names the last snapshot as the last run\'s archive, with the target\'s result', async () => {
    const status = await json<{ last_run: { status: string; archive: string; size: number; targets: Record<string, unknown>[] } }>('/api/status');
    expect(status.last_run).toMatchObject({ status: 'success', archive: snapshots[1], size: bytes });
    expect(status.last_run.targets).toEqual([expect.objectContaining({ target: 'snap', status: 'success', snapshot: snapshots[1] })]);
  });

  it('/metrics carries the last snapshot\'s bytes, the target\'s snapshot count, status and last success', async () => {
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    const text = await res.text();
    const value = (metric: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${metric} `));
      expect(line, `${metric} in\n${text}`).toBeDefined();
      return Number(line!.slice(metric.length + 1));
    };
    expect(value('ferry_last_archive_bytes{job="app"}')).toBe(bytes);
    expect(value('ferry_target_archives{job="app",target="snap"}')).toBe(2);
    expect(value('ferry_target_last_status{job="app",target="snap"}')).toBe(1);
    expect(value('ferry_last_run_success{job="app"}')).toBe(1);
    expect(value('ferry_runs_total{job="app",result="success"}')).toBe(2);
    const created = Date.parse(snapshots[1]!.replace(/^app-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) / 1000;
    expect(value('ferry_target_last_success_timestamp_seconds{job="app",target="snap"}')).toBeGreaterThanOrEqual(created);
  });

  it('DELETE /api/archives/:target/:name removes an older snapshot directory and its manifest, and refuses the newest without force', async () => {
    const newest = await get(`/api/archives/snap/${snapshots[1]}`, { method: 'DELETE' });
    expect(newest.status).toBe(409);
    expect(existsSync(join(ws.dir, 'snapshots', snapshots[1]!))).toBe(true);
    const res = await get(`/api/archives/snap/${snapshots[0]}`, { method: 'DELETE' });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ deleted: snapshots[0], target: 'snap' });
    const left = readdirSync(join(ws.dir, 'snapshots')).filter((n) => !n.startsWith('.')).sort();
    expect(left).toEqual([snapshots[1], `${snapshots[1]}.manifest.json`, 'app-latest']);
  });
});
