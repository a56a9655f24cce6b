import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace, type Workspace } from '../helpers/cli.js';
import { jobsDir } from '../helpers/jobs-dir.js';
import { poll, startFerry, type Background } from './process.js';

const TOKEN = 'jobs-token-0123456789abcdef';

/** Every `name{labels} value` sample line of a Prometheus text answer. */
const samples = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
  const m = /^(\w+)\{(.*)\} (\S+)$/.exec(l);
  return m ? { name: m[1]!, labels: Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]])), value: Number(m[3]) } : { name: l, labels: {}, value: NaN };
});

describe('one daemon for a config directory: every job scheduled, one API and /metrics for all', () => {
  let ws: Workspace;
  let daemon: Background;
  let base: string;
  const api = (path: string, init: RequestInit = {}) => fetch(base + path, { ...init, headers: { Authorization: `Bearer ${TOKEN}`, ...(init.body ? { 'Content-Type': 'application/json' } : {}) } });

  beforeAll(async () => {
    ws = await workspace();
    const dir = await jobsDir(ws, {
      alpha: { schedule: '0 3 * * *', timezone: 'UTC', api: { token: TOKEN } },
      beta: { schedule: '0 3 * * *', timezone: 'UTC' },
    });
    // Both jobs last handled their slots two days ago, so the daemon catches each up once on start.
    const twoDaysAgo = new Date(Date.now() - 2 * 86400_000).toISOString();
    for (const job of ['alpha', 'beta']) {
      await mkdir(join(ws.dir, `state-${job}`), { recursive: true });
      await writeFile(join(ws.dir, `state-${job}`, 'schedule.json'), JSON.stringify({ backup: { accounted_until: twoDaysAgo } }));
    }
    daemon = startFerry(['-c', dir, 'daemon', '--listen', '127.0.0.1:0'], ws.dir);
    base = `http://${(await daemon.waitFor(/API listening on http:\/\/(\S+)/))[1]}`;
  });
  afterAll(async () => {
    await daemon?.stop();
    await ws?.cleanup();
  });

  it('the daemon runs every job of the directory on its schedule, each with its own state', async () => {
    await daemon.waitFor(/alpha: backup: next run at/, 60_000);
    await daemon.waitFor(/beta: backup: next run at/, 60_000);
    for (const job of ['alpha', 'beta']) {
      const last = await poll(async () => readFile(join(ws.dir, `state-${job}`, 'last_run.json'), 'utf8').then(JSON.parse, () => undefined), 60_000);
      expect(last).toMatchObject({ format_version: 1, job, status: 'success', exit_code: 0 });
    }
  }, 90_000);

  it('/api/status covers every job, and ?job= answers for one, in snake_case with format_version and exit_code', async () => {
    const all = await (await api('/api/status')).json();
    expect(all).toMatchObject({ format_version: 1, exit_code: 0, jobs: [{ job: 'alpha' }, { job: 'beta' }] });
    const beta = await (await api('/api/status?job=beta')).json();
    expect(beta).toMatchObject({ format_version: 1, job: 'beta', last_run: { job: 'beta', status: 'success', targets: [{ target: 'local', status: 'success' }] } });
    expect(beta.last_run.targets[0]).toHaveProperty('duration_ms');
    expect(beta.last_run.targets[0]).not.toHaveProperty('durationMs');
    const unknown = await api('/api/status?job=gamma');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: 'no job "gamma" (jobs: alpha, beta)', exit_code: 2 });
  });

  it('a run through the API must name its job when there are several', async () => {
    const refused = await api('/api/runs', { method: 'POST', body: '{}' });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error).toMatch(/several jobs are served \(alpha, beta\); name one with \?job=/);
    const archives = await (await api('/api/archives?job=alpha')).json();
    expect(archives).toMatchObject({ job: 'alpha', targets: [{ target: 'local', archives: [{ name: expect.stringMatching(/^alpha-/) }] }] });
    const both = await (await api('/api/archives')).json();
    expect(both.jobs.map((j: { job: string }) => j.job)).toEqual(['alpha', 'beta']);
  });

  it('/metrics has every job\'s samples with a job label, each family once, and ?job= keeps one job', async () => {
    const text = await (await api('/metrics')).text();
    expect(text.match(/^# TYPE ferry_runs_total counter$/gm)).toHaveLength(1);
    const runs = samples(text).filter((s) => s.name === 'ferry_runs_total' && s.labels.result === 'success');
    expect(runs.map((s) => [s.labels.job, s.value])).toEqual([['alpha', 1], ['beta', 1]]);
    const archives = samples(text).filter((s) => s.name === 'ferry_target_archives');
    expect(archives.map((s) => s.labels.job)).toEqual(['alpha', 'beta']);
    const beta = samples(await (await api('/metrics?job=beta')).text());
    expect(new Set(beta.map((s) => s.labels.job))).toEqual(new Set(['beta']));
    expect((await api('/metrics?job=gamma')).status).toBe(400);
  });
});
