import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { cronToOnCalendar } from '../../service/systemd/on-calendar.js';
import { backupServiceUnit, backupTimerUnit, daemonUnit, type UnitOptions } from '../../service/systemd/units.js';
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
 * (`ferry.service` for the daemon, or `ferry-backup.service` +
 * `ferry-backup.timer` with --timer), or writes them into the systemd unit
 * directory with --install. It never runs systemctl; it prints the commands.
 */
export async function systemdCommand(ctx: CommandContext, opts: SystemdOpts): Promise<number> {
  if (Boolean(opts.user) === Boolean(opts.system)) throw new UsageError('pass exactly one of --user or --system');
  const config = ctx.config();
  const mode = opts.user ? 'user' : 'system';
  if (opts.timer && !opts.onCalendar && !config.schedule) throw new UsageError('--timer needs `schedule:` in the config or --on-calendar');
  const unit: UnitOptions = {
    mode,
    exec: opts.exec ? [opts.exec] : [process.execPath, resolve(process.argv[1] ?? 'ferry')],
    config: config.configPath,
    workingDirectory: config.configDir,
    onCalendar: opts.onCalendar ?? (config.schedule ? cronToOnCalendar(config.schedule, config.timezone) : undefined),
    jitterSeconds: config.jitter,
  };
  const files: Record<string, string> = opts.timer
    ? { 'ferry-backup.service': backupServiceUnit(unit), 'ferry-backup.timer': backupTimerUnit(unit) }
    : { 'ferry.service': daemonUnit(unit) };
  const ctl = `systemctl${mode === 'user' ? ' --user' : ''}`;
  const enable = `${ctl} daemon-reload && ${ctl} enable --now ${opts.timer ? 'ferry-backup.timer' : 'ferry.service'}`;

  if (!opts.install) {
    const human = Object.entries(files).map(([name, text]) => `# ${name}\n${text}`).join('\n');
    ctx.output(human, { mode, units: files, enable });
    return 0;
  }
  const dir = opts.dir ? resolve(opts.dir) : mode === 'user'
    ? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'systemd', 'user')
    : '/etc/systemd/system';
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    await writeFile(path, text);
    await chmod(path, 0o644);
    written.push(path);
  }
  const linger = mode === 'user' ? `\nTo keep it running while you are logged out: loginctl enable-linger ${process.env.USER ?? '$USER'}` : '';
  ctx.output(`wrote ${written.join(', ')}\nEnable it with: ${enable}${linger}`, { mode, written, enable, dir: dirname(written[0]!) });
  return 0;
}
