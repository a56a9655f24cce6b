import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cronToOnCalendar } from '../../src/service/systemd/on-calendar.js';
import { backupServiceUnit, backupTimerUnit, daemonUnit } from '../../src/service/systemd/units.js';
import { basicConfig, FERRY, ROOT, workspace, type Workspace } from '../helpers/cli.js';
import { jobsDir } from '../helpers/jobs-dir.js';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');


describe('systemd units', () => {
  let ws: Workspace;
  beforeEach(async () => { ws = await workspace(); });
  afterEach(async () => { await ws.cleanup(); });

  it('contrib/ holds exactly what `ferry systemd --system` generates for job mss in /etc/ferry.d', async () => {
    const o = { mode: 'system' as const, job: 'mss', exec: ['/usr/local/bin/ferry'], config: '/etc/ferry.d', workingDirectory: '/etc/ferry.d', onCalendar: cronToOnCalendar('15 3 * * *') };
    expect(await readFile(join(ROOT, 'contrib', 'ferry-mss-daemon.service'), 'utf8')).toBe(daemonUnit(o));
    expect(await readFile(join(ROOT, 'contrib', 'ferry-mss.service'), 'utf8')).toBe(backupServiceUnit(o));
    expect(await readFile(join(ROOT, 'contrib', 'ferry-mss.timer'), 'utf8')).toBe(backupTimerUnit(o));
  });

  it('prints a daemon unit of its own for the job that runs `ferry daemon` with this config', async () => {
    await ws.writeConfig(basicConfig({ schedule: '15 3 * * *' }));
    const r = await ws.run(['systemd', '--system']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# ferry-app-daemon\.service$/m);
    expect(r.stdout).toMatch(new RegExp(`^ExecStart=.* daemon --grace 60 --config ${escape(join(ws.dir, 'backup.config.yaml'))} --job app$`, 'm'));
    expect(r.stdout).toMatch(/^WantedBy=multi-user\.target$/m);
  });

  it('installs a user timer with Persistent=true, the schedule in the configured zone and the jitter', async () => {
    await ws.writeConfig(basicConfig({ schedule: '15 3 * * 1-5', timezone: 'Europe/Berlin', jitter: '10m' }));
    const dir = join(ws.dir, 'units');
    const r = await ws.run(['systemd', '--user', '--timer', '--install', '--dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/systemctl --user daemon-reload && systemctl --user enable --now ferry-app\.timer/);
    const timer = await readFile(join(dir, 'ferry-app.timer'), 'utf8');
    expect(timer).toMatch(/^OnCalendar=Mon\.\.Fri \*-\*-\* 03:15:00 Europe\/Berlin$/m);
    expect(timer).toMatch(/^Persistent=true$/m);
    expect(timer).toMatch(/^RandomizedDelaySec=600$/m);
    expect(timer).toMatch(/^Unit=ferry-app\.service$/m);
    const service = await readFile(join(dir, 'ferry-app.service'), 'utf8');
    expect(service).toMatch(/^Type=oneshot$/m);
    expect(service).toMatch(/^ExecStart=.* run --config .* --job app$/m);
  });

  it('two jobs in one config directory get a timer each, and systemd-analyze verify accepts every unit', async () => {
    const d = await jobsDir(ws, { a: { schedule: '15 3 * * *' }, b: { schedule: '45 4 * * *' } });
    const dir = join(ws.dir, 'units');
    const r = await ws.run(['-c', d, 'systemd', '--user', '--timer', '--install', '--dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['ferry-a.service', 'ferry-a.timer', 'ferry-b.service', 'ferry-b.timer']);
    expect(r.stdout).toMatch(/enable --now ferry-a\.timer ferry-b\.timer/);
    expect(await readFile(join(dir, 'ferry-b.timer'), 'utf8')).toMatch(/^OnCalendar=\*-\*-\* 04:45:00$/m);
    expect(await readFile(join(dir, 'ferry-a.service'), 'utf8')).toMatch(new RegExp(`^ExecStart=.* run --config ${escape(d)} --job a$`, 'm'));
    const verify = spawnSync('systemd-analyze', ['verify', ...['a', 'b'].flatMap((j) => [join(dir, `ferry-${j}.service`), join(dir, `ferry-${j}.timer`)])], { encoding: 'utf8' });
    expect(verify.error, 'systemd-analyze must be installed (test/run.sh installs systemd)').toBeUndefined();
    expect(verify.status, verify.stderr).toBe(0);
  });

  it("installing a second job's units never replaces the first job's", async () => {
    const dir = join(ws.dir, 'units');
    const one = await ws.writeConfig(basicConfig({ job: 'one', schedule: '15 3 * * *' }));
    expect((await ws.run(['-c', one, 'systemd', '--user', '--timer', '--install', '--dir', dir])).code).toBe(0);
    const first = await readFile(join(dir, 'ferry-one.timer'), 'utf8');
    const two = join(ws.dir, 'two.yaml');
    await writeFile(two, stringify(basicConfig({ job: 'two', schedule: '0 5 * * *', state_dir: './state-two', targets: { local: { type: 'local', path: './backups-two', keep: 3 } } })));
    expect((await ws.run(['-c', two, 'systemd', '--user', '--timer', '--install', '--dir', dir])).code).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['ferry-one.service', 'ferry-one.timer', 'ferry-two.service', 'ferry-two.timer']);
    expect(await readFile(join(dir, 'ferry-one.timer'), 'utf8')).toBe(first);
    // Installing the same job again from the same config replaces its own units.
    expect((await ws.run(['-c', one, 'systemd', '--user', '--timer', '--install', '--dir', dir, '--on-calendar', '*-*-* 02:00:00'])).code).toBe(0);
    expect(await readFile(join(dir, 'ferry-one.timer'), 'utf8')).toMatch(/^OnCalendar=\*-\*-\* 02:00:00$/m);
  });

  it('refuses to replace a unit it did not write, or one written for the same job name from another config, and writes nothing', async () => {
    const dir = join(ws.dir, 'units');
    await mkdir(dir);
    await writeFile(join(dir, 'ferry-app.timer'), '[Timer]\nOnCalendar=daily\n');
    await ws.writeConfig(basicConfig({ schedule: '15 3 * * *' }));
    const r = await ws.run(['systemd', '--user', '--timer', '--install', '--dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ferry-app\.timer exists and was not written by `ferry systemd`; refusing to replace it/);
    expect(await readFile(join(dir, 'ferry-app.timer'), 'utf8')).toBe('[Timer]\nOnCalendar=daily\n');
    expect(await readdir(dir)).toEqual(['ferry-app.timer']);

    await rm(join(dir, 'ferry-app.timer'));
    expect((await ws.run(['systemd', '--user', '--timer', '--install', '--dir', dir])).code).toBe(0);
    const other = join(ws.dir, 'other.yaml');
    await writeFile(other, stringify(basicConfig({ schedule: '0 1 * * *' })));
    const clash = await ws.run(['-c', other, 'systemd', '--user', '--timer', '--install', '--dir', dir]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/ferry-app\.service belongs to job app \(config .*backup\.config\.yaml\); refusing to replace it/);
    expect(await readFile(join(dir, 'ferry-app.timer'), 'utf8')).toMatch(/^OnCalendar=\*-\*-\* 03:15:00$/m);
  });

  it('ExecStart is the real path of the installed ferry (symlinks resolved), and a ferry inside npm\'s cache is refused with how to install', async () => {
    await ws.writeConfig(basicConfig({ schedule: '15 3 * * *' }));
    const bin = join(ws.dir, 'bin');
    await mkdir(bin);
    await symlink(FERRY, join(bin, 'ferry'));
    const linked = await ws.run(['systemd', '--user', '--timer', '--exec', join(bin, 'ferry')]);
    expect(linked.code, linked.stderr).toBe(0);
    expect(linked.stdout).toMatch(new RegExp(`^ExecStart=${escape(await realpath(FERRY))} run `, 'm'));

    const plain = await ws.run(['systemd', '--user', '--timer']);
    expect(plain.stdout).toMatch(new RegExp(`^ExecStart=${escape(await realpath(process.execPath))} ${escape(await realpath(FERRY))} run `, 'm'));

    const cached = join(ws.dir, 'home', '.npm', '_npx', '1f2e3d', 'node_modules', '.bin');
    await mkdir(cached, { recursive: true });
    await writeFile(join(cached, 'ferry'), '#!/bin/sh\n', { mode: 0o755 });
    const r = await ws.run(['systemd', '--user', '--timer', '--exec', join(cached, 'ferry')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/inside npm's cache.*npm install -g/);
  });

  it('--on-calendar is checked with systemd-analyze calendar: a bad value is refused with its message', async () => {
    await ws.writeConfig(basicConfig());
    const bad = await ws.run(['systemd', '--user', '--timer', '--on-calendar', 'every night at three']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--on-calendar: systemd does not accept "every night at three": .*calendar specification/);
    const good = await ws.run(['systemd', '--user', '--timer', '--on-calendar', 'Mon..Fri *-*-* 03:15:00']);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/^OnCalendar=Mon\.\.Fri \*-\*-\* 03:15:00$/m);
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
