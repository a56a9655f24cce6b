import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { basicConfig, workspace, type Workspace } from '../helpers/cli.js';
import { poll, startFerry } from './process.js';

const ARCHIVE = /^app-\d{8}T\d{6}Z\.tar\.gz$/;

describe('ferry daemon', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  /** Marks slots as handled only up to two days ago, so the daemon starts with one catch-up run. */
  const missedSlots = async () => {
    await mkdir(join(ws.dir, 'state'), { recursive: true });
    const twoDaysAgo = new Date(Date.now() - 2 * 86400_000).toISOString();
    await writeFile(join(ws.dir, 'state', 'schedule.json'), JSON.stringify({ backup: { accounted_until: twoDaysAgo } }));
  };

  it('SIGTERM during a run leaves no complete-looking partial archive, and the next start catches up normally', async () => {
    // Incompressible data at gzip level 9 keeps the push busy long enough to stop it midway.
    await writeFile(join(ws.dir, 'app', 'big.bin'), randomBytes(48 * 1024 * 1024));
    await ws.writeConfig(basicConfig({ schedule: '0 3 * * *', timezone: 'UTC', compression: { level: 9 } }));
    await missedSlots();
    const backups = join(ws.dir, 'backups');

    const first = startFerry(['daemon', '--grace', '0'], ws.dir);
    await first.waitFor(/running once now/);
    await poll(async () => ((await readdir(backups).catch(() => [])).some((f) => f.startsWith('.ferry-partial-')) ? true : undefined), 20_000);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.stderr()).toMatch(/aborting run/);
    const after = await readdir(backups);
    expect(after.filter((f) => ARCHIVE.test(f) || f.endsWith('.manifest.json'))).toEqual([]);
    expect((await ws.run(['list', '--json'])).stdout).toMatch(/"archives": \[\]/);

    const second = startFerry(['daemon', '--grace', '0'], ws.dir);
    await second.waitFor(/running once now/);
    await second.waitFor(/run [0-9a-f-]+: success/, 60_000);
    await second.waitFor(/backup: next run at/);
    expect(await second.stop('SIGTERM')).toBe(0);
    const archives = (await readdir(backups)).filter((f) => ARCHIVE.test(f));
    expect(archives).toHaveLength(1);
    expect(await readdir(backups)).toContain(`${archives[0]}.manifest.json`);
    expect((await ws.run(['verify'])).code).toBe(0);
  }, 120_000);

  it('starts without running when no slot was missed, and shows the next run', async () => {
    await ws.writeConfig(basicConfig({ schedule: '15 3 * * *', timezone: 'UTC' }));
    const d = startFerry(['daemon'], ws.dir);
    const m = await d.waitFor(/backup: next run at (\S+)/);
    expect(new Date(m[1]!).getUTCHours()).toBe(3);
    expect(await d.stop('SIGINT')).toBe(0);
    expect(d.stderr()).not.toMatch(/running once now/);
    expect(await readdir(ws.dir)).not.toContain('backups');
    const status = JSON.parse((await ws.run(['status', '--json'])).stdout);
    expect(status.next_run).toBe(m[1]);
  });

  it('runs a missed scheduled verification once on start and notifies when the read-back fails', async () => {
    const bodies: string[] = [];
    const rx = createServer((req, res) => {
      let b = '';
      req.on('data', (d: Buffer) => { b += d.toString(); });
      req.on('end', () => { bodies.push(b); res.end(); });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', r));
    try {
      await ws.writeConfig(basicConfig({
        verify: { schedule: '0 5 * * 0', target: 'local' },
        notify: [{ type: 'webhook', url: `http://127.0.0.1:${(rx.address() as AddressInfo).port}/v` }],
      }));
      await mkdir(join(ws.dir, 'backups'));
      await mkdir(join(ws.dir, 'state'));
      await writeFile(join(ws.dir, 'state', 'schedule.json'), JSON.stringify({ verify: { accounted_until: new Date(Date.now() - 8 * 86400_000).toISOString() } }));
      const d = startFerry(['daemon'], ws.dir);
      await d.waitFor(/verify: next run at/);
      expect(await d.stop()).toBe(0);
      expect(bodies).toHaveLength(1);
      expect(JSON.parse(bodies[0]!)).toMatchObject({ kind: 'verify', status: 'failure', targets: [{ target: 'local', status: 'failure' }] });
    } finally {
      await new Promise((r) => rx.close(r));
    }
  });

  it('refuses to start without a schedule', async () => {
    await ws.writeConfig(basicConfig());
    const r = await ws.run(['daemon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs `schedule:`/);
  });
});
