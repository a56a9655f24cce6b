import { readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processStart } from '../../src/state/lock.js';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { poll, startFerry } from './process.js';

const TOKEN = 'lock-token-0123456789abcdef';

/** A lock held by a live process (this test process), as a concurrent run in another process would write it. */
async function holdLock(ws: Workspace): Promise<void> {
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  await writeFile(join(ws.dir, 'state', 'lock'), JSON.stringify({
    pid: process.pid, host: hostname(), started: new Date().toISOString(), boot_id: bootId, process_start: processStart(process.pid),
  }));
}

/** Two archives on the local target, made in different seconds. */
async function twoArchives(ws: Workspace): Promise<string[]> {
  expect((await ws.run(['run', '-q'])).code).toBe(0);
  const first = (await readdir(join(ws.dir, 'backups'))).find((f) => f.endsWith('.tar.gz'))!;
  await poll(async () => (new Date().toISOString().slice(0, 19).replace(/[-:]/g, '') > first.slice(4, 19) ? true : undefined));
  expect((await ws.run(['run', '-q'])).code).toBe(0);
  return (await readdir(join(ws.dir, 'backups'))).sort();
}

describe('the job lock guards prune and API runs', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('ferry prune exits 75 and deletes nothing while another run holds the lock', async () => {
    await ws.writeConfig(basicConfig());
    const before = await twoArchives(ws);
    await ws.writeConfig(basicConfig({ targets: { local: { type: 'local', path: './backups', keep: 1 } } }));
    await holdLock(ws);
    const locked = await ws.run(['prune']);
    expect(locked.code, locked.stderr).toBe(75);
    expect(locked.stderr).toMatch(/another run holds the lock/);
    expect((await readdir(join(ws.dir, 'backups'))).sort()).toEqual(before);
    // The plan is still available without the lock.
    expect((await ws.run(['prune', '--dry-run'])).code).toBe(0);

    await writeFile(join(ws.dir, 'state', 'lock'), '');
    const free = await ws.run(['prune']);
    expect(free.code, free.stderr).toBe(0);
    expect((await readdir(join(ws.dir, 'backups'))).length).toBeLessThan(before.length);
  }, 120_000);

  it('POST /api/prune answers 409 and deletes nothing while another run holds the lock', async () => {
    await ws.writeConfig(basicConfig());
    const before = await twoArchives(ws);
    await ws.writeConfig(basicConfig({ api: { token: TOKEN }, targets: { local: { type: 'local', path: './backups', keep: 1 } } }));
    await holdLock(ws);
    const server = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir);
    try {
      const base = `http://${(await server.waitFor(/"listening": "([^"]+)"/))[1]}`;
      const prune = () => fetch(`${base}/api/prune`, { method: 'POST', body: '{}', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' } });
      const locked = await prune();
      expect(locked.status).toBe(409);
      expect((await locked.json()).error).toMatch(/another run holds the lock/);
      expect((await readdir(join(ws.dir, 'backups'))).sort()).toEqual(before);
      await writeFile(join(ws.dir, 'state', 'lock'), '');
      expect((await prune()).status).toBe(200);
      expect((await readdir(join(ws.dir, 'backups'))).length).toBeLessThan(before.length);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('a burst of twenty POST /api/runs gets exactly one 202; the rest get 409', async () => {
    // The run waits in its before hook until the burst has been answered, so it cannot end in the middle of it.
    await ws.writeConfig(basicConfig({ api: { token: TOKEN }, hooks: { before: ['while [ ! -e burst-answered ]; do sleep 0.05; done'] } }));
    const server = startFerry(['serve', '--listen', '127.0.0.1:0', '--json'], ws.dir);
    try {
      const base = `http://${(await server.waitFor(/"listening": "([^"]+)"/))[1]}`;
      const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
      const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${base}/api/runs`, { method: 'POST', body: '{}', headers })));
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses).toEqual([202, ...Array(19).fill(409)]);
      await writeFile(join(ws.dir, 'burst-answered'), '');
      const { id } = await answers.find((r) => r.status === 202)!.json() as { id: string };
      const done = await poll(async () => {
        const r = await (await fetch(`${base}/api/runs/${id}`, { headers })).json() as { state: string; exit_code?: number };
        return r.state === 'finished' ? r : undefined;
      });
      expect(done.exit_code).toBe(0);
      expect((await readdir(join(ws.dir, 'backups'))).filter((f) => f.endsWith('.manifest.json'))).toHaveLength(1);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
