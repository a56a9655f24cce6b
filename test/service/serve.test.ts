import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { poll, startFerry, type Background } from './process.js';

const TOKEN = 'test-token-0123456789abcdef';

/** Parses Prometheus text exposition: every non-comment line is `name{labels} value`, and every sample's family has a TYPE. */
function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|histogram|summary|untyped)$/.exec(line);
    if (type) { types.set(type[1]!, type[2]!); continue; }
    if (line.startsWith('# HELP ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    if (!types.has(m[1]!)) throw new Error(`sample ${m[1]} has no TYPE line`);
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

describe('ferry serve', () => {
  let ws: Workspace;
  let server: Background;
  let base: string;
  const api = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
    if (init.token !== null) headers.Authorization = `Bearer ${init.token ?? TOKEN}`;
    if (init.body) headers['Content-Type'] = 'application/json';
    return fetch(base + path, { ...init, headers });
  };

  beforeAll(async () => {
    ws = await workspace();
    await ws.writeConfig(basicConfig({ hooks: { before: ['while [ ! -e may-finish ]; do sleep 0.05; done'] }, api: { token: '${FERRY_API_TOKEN}' } }));
    server = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir, { FERRY_API_TOKEN: TOKEN });
    const m = await server.waitFor(/"listening": "([^"]+)"/);
    base = `http://${m[1]}`;
  });
  afterAll(async () => {
    await server?.stop();
    await ws?.cleanup();
  });

  it('answers health without a token, and 401 without or with a wrong token everywhere else', async () => {
    expect((await api('/api/health', { token: null })).status).toBe(200);
    for (const path of ['/api/status', '/api/archives', '/metrics', '/api/runs/x']) {
      const none = await api(path, { token: null });
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await api(path, { token: 'wrong-token' })).status, path).toBe(401);
    }
    expect((await api('/api/runs', { method: 'POST', body: '{}', token: 'test-token-0123456789abcdeF' })).status).toBe(401);
  });

  it('rejects a bad request body with 400 and a message', async () => {
    const r = await api('/api/runs', { method: 'POST', body: JSON.stringify({ targets: 'local', color: 'red' }) });
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatch(/targets|color/);
    const unknown = await api('/api/runs', { method: 'POST', body: JSON.stringify({ targets: ['nope'] }) });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).error).toMatch(/unknown target "nope"/);
  });

  it('runs a backup: 202 with an id, 409 while it runs, progress until done, then lists the archive and exposes metrics', async () => {
    const postedAt = Math.floor(Date.now() / 1000);
    const started = await api('/api/runs', { method: 'POST', body: JSON.stringify({ description: 'from the API' }) });
    expect(started.status).toBe(202);
    const { id } = await started.json() as { id: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const second = await api('/api/runs', { method: 'POST', body: '{}' });
    expect(second.status).toBe(409);
    expect((await second.json()).error).toMatch(/already in progress/);
    await writeFile(join(ws.dir, 'may-finish'), '');

    const finished = await poll(async () => {
      const r = await (await api(`/api/runs/${id}`)).json() as { state: string; result?: { status: string; archive: string } };
      return r.state === 'finished' ? r : undefined;
    });
    expect(finished.result?.status).toBe('success');

    const listing = await (await api('/api/archives?target=local')).json() as { targets: { target: string; archives: { name: string }[] }[] };
    expect(listing.targets[0]!.archives.map((a) => a.name)).toEqual([finished.result!.archive]);

    const manifest = await (await api(`/api/archives/local/${finished.result!.archive}`)).json() as { archive: string; description: string };
    expect(manifest).toMatchObject({ archive: finished.result!.archive, description: 'from the API' });

    const metrics = await api('/metrics');
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const samples = parsePrometheus(await metrics.text());
    const value = (name: string, labels: Record<string, string>) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('ferry_runs_total', { job: 'app', result: 'success' })).toBe(1);
    expect(value('ferry_runs_total', { job: 'app', result: 'failure' })).toBe(0);
    expect(value('ferry_target_archives', { target: 'local' })).toBe(1);
    expect(value('ferry_target_last_status', { target: 'local' })).toBe(1);
    expect(value('ferry_target_last_success_timestamp_seconds', { target: 'local' })).toBeGreaterThanOrEqual(postedAt);
    expect(value('ferry_last_archive_bytes', { job: 'app' })).toBeGreaterThan(0);
    expect(value('ferry_last_run_duration_seconds', { job: 'app' })).toBeGreaterThan(0);
    expect(value('ferry_last_run_duration_seconds', { job: 'app' })).toBeLessThanOrEqual(Date.now() / 1000 - postedAt + 1);
  });

  it('verifies the latest archive, and deletes the newest one only with force', async () => {
    const verify = await (await api('/api/verify', { method: 'POST', body: JSON.stringify({ target: 'local' }) })).json() as { ok: boolean; reports: { archive: string }[] };
    expect(verify.ok).toBe(true);
    const name = verify.reports[0]!.archive;
    const refused = await api(`/api/archives/local/${name}`, { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect((await api('/api/archives/local/not-an-archive', { method: 'DELETE' })).status).toBe(400);
    const deleted = await api(`/api/archives/local/${name}?force=true`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect((await api(`/api/archives/local/${name}`)).status).toBe(404);
  });

  it('POST /api/prune gives the same prune report as `ferry prune --json`', async () => {
    const cli = await ws.run(['prune', '--dry-run', '--json'], { FERRY_API_TOKEN: TOKEN });
    expect(cli.code, cli.stderr).toBe(0);
    const viaApi = await api('/api/prune', { method: 'POST', body: JSON.stringify({ dry_run: true }) });
    expect(viaApi.status).toBe(200);
    const fromApi = await viaApi.json();
    // The CLI adds its one-line summary (time taken, bytes freed); the report itself is the same.
    const { summary, ...report } = JSON.parse(cli.stdout);
    expect(summary).toMatchObject({ freed_bytes: 0 });
    expect(fromApi).toEqual(report);
    expect(fromApi).toMatchObject({ format_version: 1, job: 'app', dry_run: true, exit_code: 0, targets: [{ target: 'local', dry_run: true, plan: expect.any(Array), aborted_uploads: [] }] });
  });

  it('refuses restores unless api.allow_restore is set', async () => {
    const r = await api('/api/restore', { method: 'POST', body: JSON.stringify({ to: 'out' }) });
    expect(r.status).toBe(403);
  });

  it('never returns the token', async () => {
    for (const path of ['/api/status', '/api/targets', '/api/runs']) {
      expect(await (await api(path)).text(), path).not.toContain(TOKEN);
    }
  });
});
