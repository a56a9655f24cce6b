/** Grace (seconds) the daemon unit passes to `ferry daemon --grace`; systemd's stop timeout leaves room above it. */
export const UNIT_GRACE_SECONDS = 60;

export interface UnitOptions {
  mode: 'user' | 'system';
  /** The job the unit runs; each job has units of its own. */
  job: string;
  /** The command that starts ferry, as argv: e.g. [`/usr/local/bin/ferry`] or [node, main.js]. */
  exec: string[];
  /** Absolute path of the config file, or of the config directory the job is in. */
  config: string;
  /** Working directory (the config's directory). */
  workingDirectory: string;
  /** `OnCalendar=` value for the timer. */
  onCalendar?: string;
  /** `RandomizedDelaySec=` for the timer, from `jitter`. */
  jitterSeconds?: number;
}

/** Quotes one ExecStart argument the way systemd parses it. */
function quote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const execLine = (o: UnitOptions, args: string[]) => [...o.exec, ...args, '--config', o.config, '--job', o.job].map(quote).join(' ');

/** The unit files of one job: `ferry-<job>.service` + `.timer` for timer runs, `ferry-<job>-daemon.service` for the daemon. */
export function unitNames(job: string, timer: boolean): { service: string; timer?: string } {
  return timer ? { service: `ferry-${job}.service`, timer: `ferry-${job}.timer` } : { service: `ferry-${job}-daemon.service` };
}

/**
 * The first line of every unit `ferry systemd` writes. `--install` replaces
 * a file only when this line names the same job and config: never a unit
 * someone else wrote, nor another job's.
 */
export function unitMarker(o: Pick<UnitOptions, 'job' | 'config'>): string {
  return `# Written by \`ferry systemd\` (ferry-unit job=${o.job} config=${o.config}); ferry replaces this file only while this line is here.`;
}

/** The job and config a unit file's marker names, or undefined when the file has no marker (ferry did not write it). */
export function readUnitMarker(text: string): { job: string; config: string } | undefined {
  const m = /^# Written by `ferry systemd` \(ferry-unit job=(\S+) config=(.*)\); ferry replaces this file only while this line is here\.$/m.exec(text);
  return m ? { job: m[1]!, config: m[2]! } : undefined;
}
const wantedBy = (o: UnitOptions) => (o.mode === 'user' ? 'default.target' : 'multi-user.target');

/** `ferry-<job>-daemon.service`: the long-running scheduler of the job (`ferry daemon`), restarted on failure. */
export function daemonUnit(o: UnitOptions): string {
  return `${unitMarker(o)}
[Unit]
Description=Ferry backup scheduler of job ${o.job} (catch-up of missed runs, notifications)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${execLine(o, ['daemon', '--grace', String(UNIT_GRACE_SECONDS)])}
WorkingDirectory=${quote(o.workingDirectory)}
# SIGTERM lets a run in progress finish for up to --grace seconds, then aborts it cleanly.
KillMode=mixed
TimeoutStopSec=${UNIT_GRACE_SECONDS + 30}
Restart=on-failure
RestartSec=30
NoNewPrivileges=yes

[Install]
WantedBy=${wantedBy(o)}
`;
}

/** `ferry-<job>.service`: one run of the job, started by `ferry-<job>.timer`; like every `ferry run` it sends the healthchecks start ping. */
export function backupServiceUnit(o: UnitOptions): string {
  return `${unitMarker(o)}
[Unit]
Description=Ferry backup run of job ${o.job}
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=${execLine(o, ['run'])}
WorkingDirectory=${quote(o.workingDirectory)}
NoNewPrivileges=yes
`;
}

/** `ferry-<job>.timer`: fires on the schedule; `Persistent=true` runs once at boot for slots missed while the machine was off. */
export function backupTimerUnit(o: UnitOptions): string {
  return `${unitMarker(o)}
[Unit]
Description=Ferry backup schedule of job ${o.job}

[Timer]
OnCalendar=${o.onCalendar ?? '*-*-* 03:15:00'}
Persistent=true
${o.jitterSeconds ? `RandomizedDelaySec=${o.jitterSeconds}\n` : ''}Unit=${unitNames(o.job, true).service}

[Install]
WantedBy=timers.target
`;
}
