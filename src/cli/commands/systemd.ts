import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LoadedConfig } from '../../config/load.js';
import { UsageError } from '../../errors.js';
import { checkOnCalendar, installUnits, unitExec, type UnitFile } from '../../service/systemd/install.js';
import { cronToOnCalendar } from '../../service/systemd/on-calendar.js';
import { backupServiceUnit, backupTimerUnit, daemonUnit, unitNames, type UnitOptions } from '../../service/systemd/units.js';
import type { CommandContext } from '../context.js';

interface SystemdOpts {
  user?: boolean;
  system?: boolean;
  timer?: boolean;
  install?: boolean;
  dir?: string;
  exec?: string;
  onCalendar?: string;
}

/**
 * `ferry systemd --user|--system [--timer] [--install]`: prints the units
 * of every job (`--job`: that one): `ferry-<job>-daemon.service` for the
 * daemon, or `ferry-<job>.service` + `ferry-<job>.timer` with --timer, or
 * writes them into the systemd unit directory with --install, never
 * replacing a file it did not write for the same job. ExecStart is the real
 * path of an installed ferry. It never runs systemctl; it prints the
 * commands. Jobs without a schedule are left out (an error when that leaves none).
 */
export async function systemdCommand(ctx: CommandContext, opts: SystemdOpts): Promise<number> {
  if (Boolean(opts.user) === Boolean(opts.system)) throw new UsageError('pass exactly one of --user or --system');
  const mode = opts.user ? 'user' : 'system';
  const set = ctx.jobSet();
  const jobs = ctx.jobs();
  const exec = unitExec(opts.exec);
  if (opts.onCalendar !== undefined) await checkOnCalendar(opts.onCalendar, '--on-calendar');
  const scheduled = jobs.filter((j) => opts.timer ? opts.onCalendar !== undefined || j.schedule : j.schedule || j.verify);
  if (scheduled.length === 0) {
    throw new UsageError(opts.timer ? '--timer needs `schedule:` in the config or --on-calendar' : 'ferry daemon needs `schedule:` (or `verify.schedule`) in the config');
  }
  for (const j of jobs) if (!scheduled.includes(j)) ctx.log.warn(`job ${j.job} has no schedule; no units for it`);

  const files: UnitFile[] = [];
  for (const job of scheduled) {
    const unit = await unitOptions(job, { mode, exec, config: set.directory ? set.path : job.configPath, onCalendar: opts.onCalendar, timer: opts.timer });
    const names = unitNames(job.job, Boolean(opts.timer));
    const owner = { job: job.job, config: unit.config };
    if (opts.timer) files.push({ name: names.service, text: backupServiceUnit(unit), ...owner }, { name: names.timer!, text: backupTimerUnit(unit), ...owner });
    else files.push({ name: names.service, text: daemonUnit(unit), ...owner });
  }
  const ctl = `systemctl${mode === 'user' ? ' --user' : ''}`;
  const started = files.filter((f) => f.name.endsWith(opts.timer ? '.timer' : '.service')).map((f) => f.name);
  const enable = `${ctl} daemon-reload && ${ctl} enable --now ${started.join(' ')}`;
  const units = Object.fromEntries(files.map((f) => [f.name, f.text]));

  if (!opts.install) {
    const human = files.map((f) => `# ${f.name}\n${f.text}`).join('\n');
    ctx.output(human, { mode, units, enable });
    return 0;
  }
  const dir = opts.dir ? resolve(opts.dir) : mode === 'user'
    ? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'systemd', 'user')
    : '/etc/systemd/system';
  const written = await installUnits(dir, files);
  const linger = mode === 'user' ? `\nTo keep it running while you are logged out: loginctl enable-linger ${process.env.USER ?? '$USER'}` : '';
  ctx.output(`wrote ${written.join(', ')}\nEnable it with: ${enable}${linger}`, { mode, written, enable, dir });
  return 0;
}

/** One job's unit settings; a schedule converted from cron is checked like --on-calendar. */
async function unitOptions(job: LoadedConfig, o: { mode: 'user' | 'system'; exec: string[]; config: string; onCalendar?: string; timer?: boolean }): Promise<UnitOptions> {
  let onCalendar = o.onCalendar;
  if (o.timer && onCalendar === undefined && job.schedule) {
    onCalendar = cronToOnCalendar(job.schedule, job.timezone);
    await checkOnCalendar(onCalendar, `job ${job.job}: schedule "${job.schedule}" as OnCalendar`);
  }
  return { mode: o.mode, job: job.job, exec: o.exec, config: o.config, workingDirectory: job.configDir, onCalendar, jitterSeconds: job.jitter };
}
