import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cronToOnCalendar } from '../../src/service/systemd/on-calendar.js';
import { backupServiceUnit, backupTimerUnit, daemonUnit } from '../../src/service/systemd/units.js';
import { basicConfig, ROOT, workspace, type Workspace } from '../helpers/cli.js';

describe('systemd units', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('contrib/ holds exactly what `ferry systemd --system` generates for /etc/ferry', async () => {
    const o = { mode: 'system' as const, exec: ['/usr/local/bin/ferry'], config: '/etc/ferry/backup.config.yaml', workingDirectory: '/etc/ferry', onCalendar: cronToOnCalendar('15 3 * * *') };
    expect(await readFile(join(ROOT, 'contrib', 'ferry.service'), 'utf8')).toBe(daemonUnit(o));
    expect(await readFile(join(ROOT, 'contrib', 'ferry-backup.service'), 'utf8')).toBe(backupServiceUnit(o));
    expect(await readFile(join(ROOT, 'contrib', 'ferry-backup.timer'), 'utf8')).toBe(backupTimerUnit(o));
  });

  it('prints a daemon unit that runs `ferry daemon` with this config', async () => {
    await ws.writeConfig(basicConfig({ schedule: '15 3 * * *' }));
    const r = await ws.run(['systemd', '--system']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# ferry\.service$/m);
    expect(r.stdout).toMatch(new RegExp(`^ExecStart=.* daemon --config ${join(ws.dir, 'backup.config.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --grace 60$`, 'm'));
    expect(r.stdout).toMatch(/^WantedBy=multi-user\.target$/m);
  });

  it('installs a user timer with Persistent=true, the schedule in the configured zone and the jitter', async () => {
    await ws.writeConfig(basicConfig({ schedule: '15 3 * * 1-5', timezone: 'Europe/Berlin', jitter: '10m' }));
    const dir = join(ws.dir, 'units');
    const r = await ws.run(['systemd', '--user', '--timer', '--install', '--dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/systemctl --user daemon-reload && systemctl --user enable --now ferry-backup\.timer/);
    const timer = await readFile(join(dir, 'ferry-backup.timer'), 'utf8');
    expect(timer).toMatch(/^OnCalendar=Mon\.\.Fri \*-\*-\* 03:15:00 Europe\/Berlin$/m);
    expect(timer).toMatch(/^Persistent=true$/m);
    expect(timer).toMatch(/^RandomizedDelaySec=600$/m);
    const service = await readFile(join(dir, 'ferry-backup.service'), 'utf8');
    expect(service).toMatch(/^Type=oneshot$/m);
    expect(service).toMatch(/^ExecStart=.* run --config /m);
  });

  it('needs exactly one of --user and --system', async () => {
    await ws.writeConfig(basicConfig({ schedule: '15 3 * * *' }));
    expect((await ws.run(['systemd'])).code).toBe(2);
    expect((await ws.run(['systemd', '--user', '--system'])).code).toBe(2);
  });

  it('turns cron schedules into OnCalendar, and refuses what systemd cannot express', () => {
    expect(cronToOnCalendar('*/15 * * * *')).toBe('*-*-* *:00/15:00');
    expect(cronToOnCalendar('0 4 * * 1-5', 'UTC')).toBe('Mon..Fri *-*-* 04:00:00 UTC');
    expect(cronToOnCalendar('5/20 8-18 * * mon,wed,fri')).toBe('Mon,Wed,Fri *-*-* 08..18:05/20:00');
    expect(cronToOnCalendar('30 2 1 * *')).toBe('*-*-1 02:30:00');
    expect(cronToOnCalendar('0 0 * * 7')).toBe('Sun *-*-* 00:00:00');
    expect(cronToOnCalendar('@daily')).toBe('*-*-* 00:00:00');
    expect(() => cronToOnCalendar('0 0 L * *')).toThrow(/--on-calendar/);
    expect(() => cronToOnCalendar('0 0 1 * 1')).toThrow(/day-of-month OR day-of-week/);
  });
});
